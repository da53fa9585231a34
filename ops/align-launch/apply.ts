// The updates: each server of the plan, re-read first (skipped when aligned meanwhile), then one
// UpdateLaunchConfiguration with only the fields that differ, never resent. The only part of
// align-launch that changes anything.
import { LaunchConfiguration, UpdateLaunchConfigurationCommand, UpdateLaunchConfigurationRequest } from "@aws-sdk/client-drs";
import { AwsAccess } from "../aws/access";
import { AccessStop, calling } from "../aws/calls";
import { answerLost, failure } from "../aws/faults";
import { Deadline, noDeadline } from "../clock";
import { differences, readLaunch } from "./plan";
import { ApplyOutcome, FieldChange, LaunchPlan, RegionPlan, ServerPlan, UpdateResult, launchFields } from "./types";

/** The request for `changes`: sourceServerID and the differing fields only; licensing goes whole, as { osByol }. */
export function updateRequest(sourceServerID: string, changes: FieldChange[]): UpdateLaunchConfigurationRequest {
    const request: UpdateLaunchConfigurationRequest = { sourceServerID };
    for (const { field, wanted } of changes) {
        if (field === "osByol") request.licensing = { osByol: wanted as boolean };
        else Object.assign(request, { [field]: wanted });
    }
    return request;
}

const describeChanges = (changes: FieldChange[]) =>
    changes.map((c) => `${c.field} ${String(c.now ?? "unset")} -> ${String(c.wanted)}`).join(", ");

/**
 * Updates the plan's servers, reporting each result as it happens. Stops at the first access error
 * and at the time limit, naming where; other errors fail that server and the run goes on.
 */
export async function applyLaunch(
    plan: LaunchPlan,
    aws: AwsAccess,
    report: (result: UpdateResult) => void,
    options: { deadline?: Deadline; resume?: string } = {},
): Promise<ApplyOutcome> {
    const deadline = options.deadline ?? noDeadline();
    const resume = options.resume ?? "npm run -s align-launch -- -s <stack> --apply";
    const results: UpdateResult[] = [];
    const changed = () => results.filter((r) => r.status === "changed").length;
    for (const region of plan.regions) {
        for (const server of region.toChange) {
            if (deadline.reached())
                return {
                    results,
                    stopped: {
                        region: region.region,
                        at: server.sourceServerID,
                        reason: "time-limit",
                        message: `the ${deadline.minutes}-minute --time-limit was reached before ${server.sourceServerID}`,
                        changed: changed(),
                        resume,
                    },
                };
            try {
                const result = await updateServer(aws, plan.targetAccountId, region, server);
                results.push(result);
                report(result);
            } catch (err) {
                if (!(err instanceof AccessStop)) throw err;
                return {
                    results,
                    stopped: {
                        region: region.region,
                        at: server.sourceServerID,
                        reason: "access",
                        permission: err.stop.permission,
                        message: err.stop.message,
                        changed: changed(),
                        resume,
                    },
                };
            }
        }
    }
    return { results };
}

/** One server: re-read, then one update with the fields that still differ; a lost answer is re-read, never resent. */
async function updateServer(aws: AwsAccess, account: string, region: RegionPlan, server: ServerPlan): Promise<UpdateResult> {
    const result = { sourceServerID: server.sourceServerID, hostname: server.hostname, region: region.region };
    let now: LaunchConfiguration;
    try {
        now = await readLaunch(aws, account, region.region, server.sourceServerID);
    } catch (err) {
        if (err instanceof AccessStop) throw err;
        return { ...result, status: "failed", message: failure(err) };
    }
    const changes = differences(now, region.wanted);
    if (changes.length === 0) return { ...result, status: "skipped", message: "has the stack's launch settings already" };
    const drs = await calling(account, "drs:UpdateLaunchConfiguration", () => aws.drsWriter(account, region.region));
    try {
        const answer = await calling(account, "drs:UpdateLaunchConfiguration", () =>
            drs.send(new UpdateLaunchConfigurationCommand(updateRequest(server.sourceServerID, changes))),
        );
        // The answer is the launch configuration: a field it gives that is not what was sent is a failure.
        const given = changes.filter((c) => launchFields[c.field](answer ?? {}) !== undefined);
        const left = differences(answer ?? {}, Object.fromEntries(given.map((c) => [c.field, c.wanted])));
        if (left.length > 0) return { ...result, status: "failed", message: `DRS answered with ${describeChanges(left)}` };
        return { ...result, status: "changed", message: describeChanges(changes) };
    } catch (err) {
        if (err instanceof AccessStop) throw err;
        if (!answerLost(err)) return { ...result, status: "failed", message: failure(err) };
        // The request may have reached DRS: the server's launch configuration now says whether it did.
        try {
            const after = differences(await readLaunch(aws, account, region.region, server.sourceServerID), region.wanted);
            if (after.length === 0)
                return {
                    ...result,
                    status: "changed",
                    message: `${describeChanges(changes)} (the answer was lost; a re-read shows it done)`,
                };
            return {
                ...result,
                status: "failed",
                message: `${failure(err)}: the answer was lost, and a re-read shows ${describeChanges(after)}; it was not sent again`,
            };
        } catch (again) {
            if (again instanceof AccessStop) throw again;
            return {
                ...result,
                status: "failed",
                message: `${failure(err)}: the answer was lost, and it could not be re-read (${failure(again)}); it was not sent again`,
            };
        }
    }
}
