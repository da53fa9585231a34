// Outcomes every check shares: the guide's symptoms a FAIL names, and UNCHECKED (a check that
// could not run, or that needs what another could not read), which is never a pass.
import { UncheckedKind, uncheckedOf } from "../aws/faults";
import { Outcome } from "./types";

export const symptoms = {
    accessDenied: 'guide symptom "AccessDeniedException when target account tries to use key"',
    replication: 'guide symptom "Replication failed: Unable to encrypt EBS volumes"',
    recovery: 'guide symptom "Recovery failed: Unable to decrypt EBS snapshots"',
};

/** Runs a check; what stops it (an unreachable account, a refused call, a failing service, ...) makes it UNCHECKED, never passed. */
export async function guarded(account: string, body: () => Promise<Outcome>): Promise<Outcome> {
    try {
        return await body();
    } catch (err) {
        return notChecked(err, account);
    }
}

/** What to do about each reason a check could not run. */
export const uncheckedFixes: Record<UncheckedKind, string> = {
    unreachable: "Set roleArn for this account in the stack config, or run with its credentials.",
    refused:
        "Run verify with credentials that may read KMS, IAM, DRS and EC2 there: `npm run -s verify -- --print-policy` prints the policy.",
    "service-error": "AWS kept failing after the SDK's retries: run verify again later (AWS Health Dashboard for the Region).",
    malformed: "An answer was not what AWS sends (a proxy or endpoint in between?): run verify again, and report it if it stays.",
    timeout: "No answer in time: check the network, proxy or VPC endpoint, or raise --request-timeout.",
    "time-limit": "Run verify again with a longer --time-limit, or on fewer keys (--outputs of one staging stack).",
    "not-initialised": "See the staging-drs-initialised or target-drs-initialised check for this account and Region.",
    changing: "Run verify again in a few minutes.",
    depends: "See the check named, which could not run either.",
};

/** An UNCHECKED outcome for what stopped a check; an error that is none of the known kinds is a bug and is thrown. */
export function notChecked(err: unknown, account: string): Outcome {
    const unchecked = uncheckedOf(err, account);
    if (!unchecked) throw err;
    const fix =
        unchecked.kind === "unreachable" && (err as { fix?: string }).fix ? (err as { fix: string }).fix : uncheckedFixes[unchecked.kind];
    return { status: "UNCHECKED", message: `Not checked: ${unchecked.why}.`, fix, unchecked };
}

/** A check that needs what another check read, which could not be read. */
export function dependsOn(check: string, why: string): Outcome {
    return {
        status: "UNCHECKED",
        message: `Not checked: ${why} (see ${check}).`,
        fix: uncheckedFixes.depends,
        unchecked: { kind: "depends", why },
    };
}
