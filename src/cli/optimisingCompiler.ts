/*
 * Whether `certvet check` starts a short scan with V8's optimising compiler (TurboFan) off.
 *
 * A check runs a good deal of JavaScript per target (capture, TLS 1.3 decryption, parsing, path
 * validation, findings, output), and V8 optimises some 180 of its functions in the first thousand
 * targets: about a second of TurboFan compilation per thread on Node 20, which has no cheaper
 * optimising tier (Maglev arrived with V8 12, Node 22). That compilation runs on background
 * threads, so it is free while a core is idle; but with as many JavaScript threads as cores
 * (`--workers` at its default, the CPU count) there is none, and over a short scan the
 * compilation costs more than the optimised code saves. Measured on Node 20, 2 cores, two
 * threads, against nginx (docs/performance.md), TurboFan off for the whole scan against the
 * default: 1,000 checks 0.91× → 0.99× the bare client, 2,000 0.96× → 1.04×, 3,000 and
 * 5,000 already 4–7 % slower, 10,000 about 20 % slower (measured earlier with --max-opt=1).
 * Turning it on part-way (after 1,000 or 1,500 results) still cost 4 % over 10,000 checks: the
 * compilation is paid either way.
 *
 * So, on such a runtime and only then, a scan of at most SHORT_SCAN targets runs with TurboFan
 * off, and a longer one is left alone. Should a scan yield more results than planned
 * (`--all-addresses` expands names), TurboFan is turned on at the SHORT_SCAN-th. The same code
 * runs either way; only its tier differs. V8 reads the flag at each tiering decision (checked on
 * Node 20, 22, 24 and 26 in test/optimising-compiler.test.ts); on runtimes with Maglev turning
 * TurboFan off measured no gain, so they are left alone, as is any process whose V8 flags the
 * user set (node's own arguments or NODE_OPTIONS). Only the CLI does this, never the library:
 * V8 flags belong to the process.
 */
import { setFlagsFromString } from 'node:v8';

/** The longest scan that runs without TurboFan (about where its compilation starts to pay). */
export const SHORT_SCAN = 2000;

export interface OptimisationDeferral {
  /** True while TurboFan is off. */
  readonly deferred: boolean;
  /** Call once per result; turns TurboFan on at the SHORT_SCAN-th. */
  onResult(): void;
  /** Turns TurboFan on now (the scan ended or failed); idempotent. */
  end(): void;
}

const NOTHING_DEFERRED: OptimisationDeferral = { deferred: false, onResult() {}, end() {} };

export interface DeferralSituation {
  /** JavaScript threads doing handshakes (`--workers`). */
  readonly threads: number;
  /** Cores this process may use (os.availableParallelism()). */
  readonly cores: number;
  /** process.versions.v8 */
  readonly v8: string;
  /** node's own arguments and NODE_OPTIONS, to leave a user's V8 tuning alone. */
  readonly nodeArguments: string;
  /** Targets the scan is planned to check (a lower bound with --all-addresses). */
  readonly plannedTargets: number;
}

/** Whether deferring applies: a short scan, no Maglev (V8 < 12), no idle core, no V8 tuning by the user. */
export function shouldDeferOptimisation(s: DeferralSituation): boolean {
  if (s.plannedTargets > SHORT_SCAN) return false;
  const v8Major = Number.parseInt(s.v8, 10);
  if (!(v8Major < 12)) return false;
  if (s.threads < s.cores) return false;
  // V8 spells its flags with - or _, and negates with --no- or --no.
  const args = s.nodeArguments.replace(/_/g, '-');
  return !/--(no-?)?(turbofan|opt|maglev)\b|--max-opt\b|--always-(turbofan|opt|sparkplug)\b|--turbo-filter|--jitless|--interrupt-budget/.test(
    args,
  );
}

/** Turns TurboFan off for a short scan when shouldDeferOptimisation says so; end() turns it back on. */
export function deferOptimisation(s: DeferralSituation): OptimisationDeferral {
  if (!shouldDeferOptimisation(s)) return NOTHING_DEFERRED;
  setFlagsFromString('--no-turbofan');
  let results = 0;
  const state = {
    deferred: true,
    onResult() {
      if (state.deferred && ++results >= SHORT_SCAN) state.end();
    },
    end() {
      if (!state.deferred) return;
      state.deferred = false;
      setFlagsFromString('--turbofan');
    },
  };
  return state;
}
