import type { Certificate } from '../x509/certificate.js';
import { OID } from '../x509/oids.js';

const ANY = OID.anyPolicy;

/**
 * Certificate policy processing (RFC 5280 §6.1.2 (a), (d)-(f), §6.1.3 (d)-(f), §6.1.4 (a)-(b),
 * (h)-(j), §6.1.5 (a)-(b)) with user-initial-policy-set = anyPolicy and no initial
 * requirements. The valid_policy_tree is tracked as the set of its leaf policies: qualifiers
 * are not needed for a verdict, and a set cannot grow exponentially (cf. RFC 9618).
 */
export class PolicyState {
  private valid: Set<string> | null = new Set([ANY]);
  private explicitPolicy: number;
  private inhibitAnyPolicy: number;
  private policyMapping: number;
  private processed = 0;

  /** `n`: number of certificates in the path below the trust anchor. */
  constructor(private readonly n: number) {
    this.explicitPolicy = n + 1;
    this.inhibitAnyPolicy = n + 1;
    this.policyMapping = n + 1;
  }

  /** §6.1.3 (d)-(f) for the next certificate; returns an error message or null. */
  process(cert: Certificate): string | null {
    this.processed++;
    const isFinal = this.processed === this.n;
    const policies = cert.ext.certificatePolicies;
    if (policies && this.valid) {
      const anyAllowed = this.inhibitAnyPolicy > 0 || (!isFinal && cert.selfIssued);
      const asserted = new Set(policies);
      const next = new Set<string>();
      if (this.valid.has(ANY)) {
        for (const p of asserted) if (p !== ANY) next.add(p);
        if (asserted.has(ANY) && anyAllowed) next.add(ANY);
      } else {
        for (const p of this.valid) if (asserted.has(p) || (asserted.has(ANY) && anyAllowed)) next.add(p);
      }
      this.valid = next.size ? next : null;
    } else if (!policies) {
      this.valid = null;
    }
    if (this.explicitPolicy === 0 && this.valid === null)
      return 'no certificate policy is acceptable along the path while an explicit policy is required';
    return null;
  }

  /** §6.1.4 (a)-(b), (h)-(j): preparation for the next certificate. */
  prepare(cert: Certificate): string | null {
    const mappings = cert.ext.policyMappings;
    if (mappings) {
      if (mappings.some(([a, b]) => a === ANY || b === ANY))
        return 'policyMappings maps to or from anyPolicy';
      if (this.valid && !this.valid.has(ANY)) {
        const next = new Set<string>();
        for (const p of this.valid) {
          const targets = mappings.filter(([a]) => a === p).map(([, b]) => b);
          if (targets.length === 0) next.add(p);
          else if (this.policyMapping > 0) for (const t of targets) next.add(t);
        }
        this.valid = next.size ? next : null;
      }
    }
    if (!cert.selfIssued) {
      if (this.explicitPolicy > 0) this.explicitPolicy--;
      if (this.policyMapping > 0) this.policyMapping--;
      if (this.inhibitAnyPolicy > 0) this.inhibitAnyPolicy--;
    }
    const pc = cert.ext.policyConstraints;
    if (pc?.requireExplicitPolicy != null)
      this.explicitPolicy = Math.min(this.explicitPolicy, pc.requireExplicitPolicy);
    if (pc?.inhibitPolicyMapping != null)
      this.policyMapping = Math.min(this.policyMapping, pc.inhibitPolicyMapping);
    if (cert.ext.inhibitAnyPolicy !== undefined)
      this.inhibitAnyPolicy = Math.min(this.inhibitAnyPolicy, cert.ext.inhibitAnyPolicy);
    return null;
  }

  /** §6.1.5 (a)-(b), (g). */
  finish(leaf: Certificate): string | null {
    if (this.explicitPolicy > 0) this.explicitPolicy--;
    if (leaf.ext.policyConstraints?.requireExplicitPolicy === 0) this.explicitPolicy = 0;
    if (this.explicitPolicy === 0 && this.valid === null)
      return 'the path has no valid certificate policy but one is required (policyConstraints requireExplicitPolicy)';
    return null;
  }
}
