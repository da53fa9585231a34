// What a drill proves beyond "launched": which key the recovered volumes use, the refused KMS
// calls behind a server that did not launch (both accounts' CloudTrail, diagnosis.ts), and which
// key.targetAccess the drill proved. Shared by --start and --diagnose --job.
import { type StagingKeyExport } from "../../program/contract";
import { isAccessDenied, uncheckedOf, UnreachableAccount } from "../aws/faults";
import { DrillContext } from "./context";
import { KeyDiagnosis, defaultTrailWaitMinutes, diagnoseKeys } from "./diagnosis";
import { RecoveredServer, readRecoveredVolumes } from "./volumes";
import { DrillReport, ServerResult } from "./types";

/** Which key the volumes of each launched server's recovery instance use, read in the target account. */
export async function recoveredVolumes(ctx: DrillContext, results: ServerResult[]): Promise<RecoveredServer[]> {
    const launched = results.filter((r) => r.status === "launched" && r.recoveryInstanceID);
    const found: RecoveredServer[] = [];
    for (const region of [...new Set(launched.map((r) => r.region))]) {
        const here = launched
            .filter((r) => r.region === region)
            .map((r) => ({
                sourceServerID: r.sourceServerID,
                hostname: r.hostname,
                region,
                recoveryInstanceID: r.recoveryInstanceID!,
            }));
        try {
            const clients = { drs: await ctx.access.drs(ctx.target, region), ec2: await ctx.access.ec2(ctx.target, region) };
            found.push(...(await readRecoveredVolumes(clients, here, ctx.target, ctx.input.keys)));
        } catch (err) {
            const unchecked = uncheckedOf(err, ctx.target);
            if (!unchecked) throw err;
            found.push(...here.map((s) => ({ ...s, volumes: [], message: `Not checked: ${unchecked.why}.`, unchecked })));
        }
    }
    return found;
}

/** What the drill proved of key.targetAccess, and the diagnosis's pending parts as not checked. */
export function settle(ctx: DrillContext, report: DrillReport): void {
    for (const d of report.diagnosis.filter((x) => x.status === "none-yet" || x.status === "not-checked"))
        report.unchecked.push(
            `the KMS diagnosis of ${d.keyArn} (${d.status === "none-yet" ? "CloudTrail may still deliver" : "a trail could not be read"})`,
        );
    const launched = report.results.length > 0 && report.results.every((r) => r.status === "launched");
    const fallback = report.diagnosis.some((d) =>
        d.refusals.some((r) => r.allowedBy?.startsWith("key.targetAccess: ebs-shared-snapshots")),
    );
    if (launched)
        report.profile =
            ctx.targetAccess === "documented"
                ? "Proven under key.targetAccess documented: the minimum the DRS multi-account page documents (kms:ReEncrypt* and kms:DescribeKey, through EC2) was enough to recover these servers."
                : "Proven under key.targetAccess ebs-shared-snapshots (the fallback: the EBS snapshot-sharing set, through EC2); this drill did not try the documented minimum.";
    else if (fallback && ctx.targetAccess === "documented")
        report.profile =
            "Not enough under key.targetAccess documented: KMS refused what only the fallback allows (above). Set key.targetAccess: ebs-shared-snapshots " +
            "in every staging stack and the target stack, `pulumi up` them (staging first), and drill again.";
}

/** The stack's keys that serve these servers: their staging account's, in their Region. */
export function keysOfServers(ctx: DrillContext, servers: { stagingAccountId: string; region: string }[]): StagingKeyExport[] {
    return ctx.input.keys.filter((k) => servers.some((s) => s.stagingAccountId === k.accountId && s.region === k.region));
}

/**
 * The refused KMS calls on each key, from the target's CloudTrail and the staging account's (a
 * refused cross-account call is logged only in the caller's), each explained with the setting or
 * statement that would allow it. After a drill (`poll`), both trails are read again until
 * CloudTrail's delivery wait has passed; --diagnose reads them once.
 */
export async function diagnose(
    ctx: DrillContext,
    keys: StagingKeyExport[],
    from: number,
    jobEnd: number,
    jobIDs: string[],
    poll: boolean,
    /** The command that reads the trails again (default: --diagnose of the jobs). */
    rerun = ctx.command(`--diagnose ${jobIDs.map((j) => `--job ${j}`).join(" ")}`),
): Promise<KeyDiagnosis[]> {
    return diagnoseKeys(
        {
            keys,
            from,
            jobEnd,
            waitMinutes: ctx.options.trailWaitMinutes ?? defaultTrailWaitMinutes,
            poll,
            pollMs: ctx.deps.trailPollMs,
            rerun,
            contextOf: (key) => ({
                target: ctx.target,
                stagingAccount: key.accountId,
                region: key.region,
                keyArn: key.keyArn,
                targetAccess: ctx.targetAccess,
                keyUserRoleNames: ctx.input.settings.target.keyUserRoleNames,
                identityCenter: ctx.input.settings.identityCenter !== undefined,
                stagingStacks: ctx.input.settings.stagingStacks ?? [],
                deploy: ctx.input.settings.deploy,
                stack: ctx.input.stack,
                knownRoleIds: ctx.knownRoleIds,
                stagingRoleArn: key.stagingRoleArns?.[ctx.target] ?? key.stagingRoleArn,
                otherTargets: (key.targetAccountIds ?? [])
                    .filter((t) => t !== ctx.target)
                    .map((t) => ({ targetAccountId: t, stagingRoleArn: key.stagingRoleArns?.[t] ?? "" })),
            }),
        },
        {
            access: ctx.access,
            target: ctx.target,
            clock: ctx.clock,
            io: ctx.io,
            deadline: ctx.deadline,
            signal: ctx.deps.signal,
            fixFor: (account, err) => {
                const how =
                    account === ctx.target
                        ? "Run with target.roleArn (or credentials of the target) that may call cloudtrail:LookupEvents"
                        : `Give a role in ${account} that may call cloudtrail:LookupEvents with --staging-role`;
                const why = err instanceof UnreachableAccount ? "" : isAccessDenied(err) ? " (it was refused)" : "";
                return `${how}${why}, then: ${rerun}. Or look by hand (docs/drill.md, "A KMS refusal, by hand").`;
            },
        },
    );
}
