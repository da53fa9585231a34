// The creates: the plan's servers extended into the target a batch at a time. Before each batch the
// target's extended servers are re-read (another run or the console may have extended some); each
// CreateExtendedSourceServer is sent once; then the batch is read back until each server has left
// NOT_EXTENDED. The only part of extend that changes anything.
import { CreateExtendedSourceServerCommand, SourceServer } from "@aws-sdk/client-drs";
import { plural } from "../../config/text";
import { AwsAccess } from "../aws/access";
import { AccessStop, calling } from "../aws/calls";
import { answerLost, failure } from "../aws/faults";
import { listSourceServers } from "../aws/sourceServers";
import { Clock, Deadline, noDeadline, realClock } from "../clock";
import { byStagingId, extendedFrom } from "./calls";
import { refusalAdvice } from "./report";
import { ApplyOutcome, ExtendPlan, ExtendResult, KeyPlan, ServerToExtend, Stop } from "./types";

export interface ApplyOptions {
    /** --batch N: create N extended servers, read them back, then the next N. */
    batch?: number;
    deadline?: Deadline;
    clock?: Clock;
    /** How often a batch is read back while its servers are NOT_EXTENDED. */
    pollMs?: number;
    /** How long a batch is read back before its servers still NOT_EXTENDED are reported as created, not extended. */
    batchWaitMs?: number;
    signal?: AbortSignal;
    progress?: (line: string) => void;
    /** The command that resumes a run, for the stop message. */
    resume?: string;
    /** The staging stack align-servers runs on, for the advice on default-key servers. */
    stagingStack?: string;
}

export const defaultBatch = 10;
export const defaultPollMs = 15_000;
export const defaultBatchWaitMs = 10 * 60_000;

/** Throttled past the SDK's retries: DRS would refuse the next create the same way, so the run stops. */
const throttled = (err: unknown) =>
    /^(Throttling(Exception)?|TooManyRequestsException|RequestLimitExceeded)$/.test((err as Error)?.name ?? "");

/** An access error while a batch was read back: where, and the permission. */
interface AccessHalt {
    key: KeyPlan;
    at: string;
    message: string;
    action: string;
    permission: string;
}

/** A server created in this batch, waiting to leave NOT_EXTENDED. */
interface Pending {
    key: KeyPlan;
    server: ServerToExtend;
    extendedServerID: string;
    /** Said of how it was found (a lost answer re-read). */
    note: string;
}

const resultOf = (key: KeyPlan, server: ServerToExtend) => ({
    sourceServerID: server.sourceServerID,
    arn: server.arn,
    hostname: server.hostname,
    stagingAccountId: key.stagingAccountId,
    region: key.region,
});

/**
 * Extends the plan's servers into the target, a batch at a time, reporting each result as it is
 * known. Sends only sourceServerArn and the tags, once: a lost answer is looked for among the
 * target's extended servers, never resent. Stops at the first access error, when DRS keeps
 * throttling, at the time limit and at Ctrl-C, saying what was done; other refusals fail that
 * server (with DRS's message) and the run goes on.
 */
export async function applyExtension(
    plan: ExtendPlan,
    aws: AwsAccess,
    report: (result: ExtendResult) => void,
    options: ApplyOptions = {},
): Promise<ApplyOutcome> {
    const clock = options.clock ?? realClock;
    const deadline = options.deadline ?? noDeadline(clock);
    const target = plan.targetAccountId;
    const resume = options.resume ?? "npm run -s extend -- -s <stack> --apply";
    const results: ExtendResult[] = [];
    const record = (result: ExtendResult) => {
        results.push(result);
        report(result);
    };
    const queue = plan.keys.filter((k) => !k.targetUnread).flatMap((key) => key.toExtend.map((server) => ({ key, server })));
    const size = options.batch ?? defaultBatch;
    const batches = Math.ceil(queue.length / size);
    let attempted = 0;
    const stopAt = (key: KeyPlan, at: string, reason: Stop["reason"], message: string, extra: Partial<Stop> = {}): ApplyOutcome => {
        const made = results.filter((r) => r.extendedServerID && r.status !== "skipped");
        return {
            results,
            stopped: {
                accountId: target,
                stagingAccountId: key.stagingAccountId,
                region: key.region,
                at,
                reason,
                message,
                extended: made.length,
                extendedServers: made.map((r) => ({ sourceServerID: r.sourceServerID, extendedServerID: r.extendedServerID })),
                left: queue.length - attempted,
                resume,
                ...extra,
            },
        };
    };
    const wait = { ...options, clock, deadline, target, record };
    for (let start = 0; start < queue.length; start += size) {
        const batch = queue.slice(start, start + size);
        const number = start / size + 1;
        options.progress?.(`Batch ${number} of ${batches}: extending ${plural(batch.length, "server")}...`);
        // Re-read first: the plan may be stale (another run, the console), and DRS must not be asked twice.
        const already = new Map<KeyPlan, Map<string, SourceServer>>();
        /** Entries whose re-read failed (not for access): their servers are not created blind. */
        const unread = new Map<KeyPlan, string>();
        for (const key of new Set(batch.map((b) => b.key))) {
            try {
                const drs = await calling(target, "drs:DescribeSourceServers", () => aws.drs(target, key.region));
                already.set(
                    key,
                    byStagingId(await calling(target, "drs:DescribeSourceServers", () => extendedFrom(drs, key.stagingAccountId))),
                );
            } catch (err) {
                if (!(err instanceof AccessStop)) {
                    unread.set(key, failure(err));
                    continue;
                }
                return stopAt(
                    key,
                    `batch ${number}`,
                    "access",
                    `${err.stop.message}, re-reading the extended servers before batch ${number}`,
                    {
                        action: err.stop.action,
                        permission: err.stop.permission,
                    },
                );
            }
        }
        const pending: Pending[] = [];
        for (const { key, server } of batch) {
            const stop = async (reason: Stop["reason"], message: string, extra: Partial<Stop> = {}) => {
                // What this batch created is read once, so the report says what it is.
                await readBack(aws, pending, { ...wait, once: true });
                return stopAt(key, server.sourceServerID, reason, message, extra);
            };
            if (options.signal?.aborted) return stop("interrupted", `stopped by Ctrl-C before ${server.sourceServerID}`);
            if (deadline.reached())
                return stop("time-limit", `the ${deadline.minutes}-minute --time-limit was reached before ${server.sourceServerID}`);
            attempted++;
            const why = unread.get(key);
            if (why) {
                record({
                    ...resultOf(key, server),
                    status: "failed",
                    message: `not created: the target's extended servers could not be re-read before the batch (${why}); run again`,
                });
                continue;
            }
            const found = already.get(key)?.get(server.sourceServerID);
            if (found) {
                record({
                    ...resultOf(key, server),
                    status: "skipped",
                    extendedServerID: found.sourceServerID,
                    message: `already extended as ${found.sourceServerID} (${found.stagingArea?.status ?? "status unknown"})`,
                });
                continue;
            }
            try {
                const created = await create(aws, plan, key, server);
                if (created) pending.push({ key, server, extendedServerID: created, note: "" });
                else pending.push(...(await lookFor(aws, key, server, "DRS's answer named no server", record)));
            } catch (err) {
                if (err instanceof AccessStop) {
                    attempted--;
                    return stop("access", err.stop.message, {
                        accountId: err.stop.accountId,
                        action: err.stop.action,
                        permission: err.stop.permission,
                    });
                }
                if (throttled(err)) {
                    attempted--;
                    return stop(
                        "throttled",
                        `DRS kept throttling drs:CreateExtendedSourceServer past the SDK's retries (${failure(err)}): wait a few minutes`,
                        {
                            action: "drs:CreateExtendedSourceServer",
                        },
                    );
                }
                if (answerLost(err)) {
                    pending.push(...(await lookFor(aws, key, server, failure(err), record)));
                    continue;
                }
                const said = failure(err);
                const advice = refusalAdvice(said, server, key.stagingAccountId, options.stagingStack);
                record({ ...resultOf(key, server), status: "failed", message: advice ? `${said}. ${advice}` : said });
            }
        }
        const halt = await readBack(aws, pending, { ...wait, label: `batch ${number}` });
        if (halt) return stopAt(halt.key, halt.at, "access", halt.message, { action: halt.action, permission: halt.permission });
    }
    return { results };
}

/** One CreateExtendedSourceServer, sent once through the writer (which retries only a throttled call): the new server's ID. */
async function create(aws: AwsAccess, plan: ExtendPlan, key: KeyPlan, server: ServerToExtend): Promise<string | undefined> {
    const target = plan.targetAccountId;
    const drs = await calling(target, "drs:CreateExtendedSourceServer", () => aws.drsWriter(target, key.region));
    // Only the staging server's ARN and the stack's tags: the staging server's own tags stay its account's.
    const answer = await calling(target, "drs:CreateExtendedSourceServer", () =>
        drs.send(new CreateExtendedSourceServerCommand({ sourceServerArn: server.arn, tags: plan.tags })),
    );
    return answer?.sourceServer?.sourceServerID;
}

/**
 * After a create whose answer was lost (or named no server): the target's extended servers say
 * whether DRS made it. Found: it waits with the batch; not found: failed, and it is not sent again.
 */
async function lookFor(
    aws: AwsAccess,
    key: KeyPlan,
    server: ServerToExtend,
    why: string,
    record: (r: ExtendResult) => void,
): Promise<Pending[]> {
    const target = key.targetAccountId;
    try {
        const drs = await aws.drs(target, key.region);
        const found = byStagingId(await extendedFrom(drs, key.stagingAccountId)).get(server.sourceServerID);
        if (found?.sourceServerID) return [{ key, server, extendedServerID: found.sourceServerID, note: ` (${why}; a re-read found it)` }];
        record({
            ...resultOf(key, server),
            status: "failed",
            message: `${why}: the answer was lost, and a re-read of the target finds no extended server for it; it was not sent again`,
        });
    } catch (again) {
        record({
            ...resultOf(key, server),
            status: "failed",
            message: `${why}: the answer was lost, and the target could not be re-read (${failure(again)}); it was not sent again`,
        });
    }
    return [];
}

/**
 * Reads the batch's created servers back (DescribeSourceServers by sourceServerIDs) until each has
 * left NOT_EXTENDED, every pollMs, for at most batchWaitMs, the time limit or Ctrl-C; with `once`, a
 * single read. Each is then reported: extended, extension error (DRS's message), or created and not
 * yet seen extended. An access error reports the rest as created and is returned.
 */
async function readBack(
    aws: AwsAccess,
    pending: Pending[],
    o: ApplyOptions & {
        clock: Clock;
        deadline: Deadline;
        target: string;
        record: (r: ExtendResult) => void;
        once?: boolean;
        label?: string;
    },
): Promise<AccessHalt | undefined> {
    let left = [...pending];
    const waitMs = o.batchWaitMs ?? defaultBatchWaitMs;
    const until = o.clock.now() + waitMs;
    const settle = (p: Pending, message: string) =>
        o.record({ ...resultOf(p.key, p.server), status: "created", extendedServerID: p.extendedServerID, message });
    while (left.length > 0) {
        const states: string[] = [];
        for (const key of new Set(left.map((p) => p.key))) {
            const ids = left.filter((p) => p.key === key).map((p) => p.extendedServerID);
            let listed: SourceServer[];
            try {
                const drs = await calling(o.target, "drs:DescribeSourceServers", () => aws.drs(o.target, key.region));
                listed = await calling(o.target, "drs:DescribeSourceServers", () => listSourceServers(drs, { sourceServerIDs: ids }));
            } catch (err) {
                if (!(err instanceof AccessStop)) {
                    // A read that failed otherwise is tried again at the next poll.
                    states.push(`${ids.join(", ")} unread (${failure(err)})`);
                    continue;
                }
                for (const p of left)
                    settle(p, `created as ${p.extendedServerID}${p.note}; it could not be read back (${err.stop.message})`);
                return {
                    key,
                    at: left.map((p) => p.server.sourceServerID).join(", "),
                    message: `${err.stop.message}, reading back ${o.label ?? "the servers created"}`,
                    action: err.stop.action,
                    permission: err.stop.permission,
                };
            }
            for (const p of left.filter((x) => x.key === key)) {
                const server = listed.find((s) => s.sourceServerID === p.extendedServerID);
                const status = server?.stagingArea?.status;
                if (status === "EXTENDED") {
                    o.record({
                        ...resultOf(p.key, p.server),
                        status: "extended",
                        extendedServerID: p.extendedServerID,
                        message: `extended as ${p.extendedServerID} in ${o.target}${p.note}`,
                    });
                } else if (status === "EXTENSION_ERROR") {
                    o.record({
                        ...resultOf(p.key, p.server),
                        status: "extension-error",
                        extendedServerID: p.extendedServerID,
                        message: `created as ${p.extendedServerID}${p.note}, but its extension failed: ${server?.stagingArea?.errorMessage ?? "DRS gives no message"}`,
                    });
                } else {
                    states.push(`${p.extendedServerID} ${status ?? "not listed yet"}`);
                    continue;
                }
                left = left.filter((x) => x !== p);
            }
        }
        if (left.length === 0) return undefined;
        const why = o.once
            ? "the run stopped before it was seen extended"
            : o.signal?.aborted
              ? "Ctrl-C stopped the wait before it was seen extended"
              : o.deadline.reached()
                ? `the ${o.deadline.minutes}-minute --time-limit came before it was seen extended`
                : o.clock.now() >= until
                  ? `still not extended after ${waitMs / 60_000} minutes`
                  : undefined;
        if (why) {
            for (const p of left)
                settle(p, `created as ${p.extendedServerID}${p.note}; ${why}: a re-run reads it again, and does not create it twice`);
            return undefined;
        }
        o.progress?.(`Waiting for ${o.label ?? "the servers created"} to be extended: ${states.join(", ")}...`);
        await o.clock.sleep(Math.min(o.pollMs ?? defaultPollMs, o.deadline.left(), until - o.clock.now()), o.signal);
    }
    return undefined;
}
