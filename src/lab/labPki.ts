import { generateKey, type IssuedCert, issue, type LabKey, x509 } from './pki.js';

const DAY = 86400_000;

/** The lab's certificate authorities and shared keys, from which every endpoint's chain is issued. */
export interface LabPki {
  /** The trust anchor to check the lab with. */
  readonly root: IssuedCert;
  /** Issues the lab's leaves, signs its CRL and OCSP answers. */
  readonly ica: IssuedCert;
  /** An issuing CA under a root nobody trusts. */
  readonly otherIca: IssuedCert;
  readonly expiredIca: IssuedCert;
  /** A certificate under the root that is not a CA (cA FALSE), used as an issuer anyway. */
  readonly notCa: IssuedCert;
  /** A CA whose name constraints permit only allowed.example. */
  readonly ncIca: IssuedCert;
  /** An issuing CA that no endpoint sends: only available from the AIA repository. */
  readonly aiaIca: IssuedCert;
  /** The EC P-256 key most leaves share. */
  readonly leafKey: LabKey;
  readonly rsaKey: LabKey;
  /** A client certificate the mTLS endpoint accepts. */
  readonly clientLeaf: IssuedCert;
}

/** Builds the lab PKI. The order of issuance is fixed (serial numbers count up). */
export async function buildLabPki(now: number): Promise<LabPki> {
  const ec = () => generateKey('ec-p256');
  const caKey = await ec();
  const root = await issue({ subject: 'CN=certvet Lab Root CA,O=certvet lab', ca: true, key: caKey });
  const ica = await issue({
    subject: 'CN=certvet Lab Issuing CA,O=certvet lab',
    ca: true,
    pathLen: 0,
    issuer: root,
  });
  const otherRoot = await issue({ subject: 'CN=Some Other Root,O=elsewhere', ca: true });
  const otherIca = await issue({
    subject: 'CN=Some Other Issuing CA,O=elsewhere',
    ca: true,
    issuer: otherRoot,
  });
  const expiredIca = await issue({
    subject: 'CN=certvet Lab Expired CA,O=certvet lab',
    ca: true,
    issuer: root,
    notBefore: new Date(now - 400 * DAY),
    notAfter: new Date(now - 30 * DAY),
  });
  const notCa = await issue({
    subject: 'CN=certvet Lab Not-A-CA,O=certvet lab',
    ca: false,
    issuer: root,
    eku: [],
    keyUsage: x509.KeyUsageFlags.digitalSignature,
  });
  const ncDer = new x509.Extension('2.5.29.30', true, ncPermitDns('allowed.example'));
  const ncIca = await issue({
    subject: 'CN=certvet Lab Constrained CA,O=certvet lab',
    ca: true,
    issuer: root,
    extensions: [ncDer],
  });
  const leafKey: LabKey = await ec();
  const rsaKey = await generateKey('rsa-2048');
  const clientLeaf = await issue({
    subject: 'CN=lab-client,O=certvet lab',
    emails: ['client@lab.certvet.test'],
    issuer: ica,
    eku: ['clientAuth'],
  });
  const aiaIca = await issue({
    subject: 'CN=certvet Lab AIA-only CA,O=certvet lab',
    ca: true,
    pathLen: 0,
    issuer: root,
  });
  return { root, ica, otherIca, expiredIca, notCa, ncIca, aiaIca, leafKey, rsaKey, clientLeaf };
}

/** DER of NameConstraints { permittedSubtrees { dNSName } }. */
function ncPermitDns(name: string): Uint8Array {
  const n = Buffer.from(name, 'latin1');
  const gn = Buffer.concat([Buffer.from([0x82, n.length]), n]);
  const subtree = Buffer.concat([Buffer.from([0x30, gn.length]), gn]);
  const permitted = Buffer.concat([Buffer.from([0xa0, subtree.length]), subtree]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, permitted.length]), permitted]));
}
