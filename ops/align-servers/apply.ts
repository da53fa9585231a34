// The moves: each server of the plan onto its key, once, re-read first; with --batch a few at a
// time, each batch waited for until its servers have a point in time on the key. The only part of
// align-servers that changes anything.
import { DrsClient, SourceServer, UpdateReplicationConfigurationCommand } from "@aws-sdk/client-drs";
import { AwsAccess } from "../aws/access";
import { answerLost, failure } from "../aws/faults";
import { describeEncryption, isOnKey, listSourceServers, readServerEncryption } from "../aws/sourceServers";
import { Clock, Deadline, noDeadline, realClock } from "../clock";
import { AccessStop, calling } from "../aws/calls";
import { pointInTimeOnKey } from "./calls";
import { AlignmentPlan, ApplyOutcome, KeyPlan, MoveResult, ServerMove, Stop } from "./types";

export interface ApplyOptions {
    /** --batch N: move N servers, then wait until each has a point in time on the key, then the next N. */
    batch?: number;
    deadline?: Deadline;
    clock?: Clock;
    /** How often a batch is read while it resyncs. */
    pollMs?: number;
    signal?: AbortSignal;
    progress?: (line: string) => void;
    /** The command that resumes a run, for the stop message. */
    resume?: string;
}

export const defaultBatchPollMs = 60_000;

/**
 * Moves the plan's servers onto their keys, server by server, reporting each result as it happens.
 * Re-reads each server first and skips it when it is on the key already (safe to re-run); sends
 * only sourceServerID, ebsEncryption and ebsEncryptionKeyArn, once (a lost answer is re-read, not
 * resent). Stops at the first access error and at the time limit, naming where; other errors fail
 * that server and the run goes on. With --batch, servers still resyncing from an earlier run are
 * waited for first.
 */
export async function applyAlignment(
    plan: AlignmentPlan,
    aws: AwsAccess,
    report: (result: MoveResult) => void,
    options: ApplyOptions = {},
): Promise<ApplyOutcome> {
    const clock = options.clock ?? realClock;
    const deadline = options.deadline ?? noDeadline(clock);
    const resume = options.resume ?? "npm run -s align-servers -- -s <stack> --apply";
    const results: MoveResult[] = [];
    const resynced: string[] = [];
    const record = (result: MoveResult) => {
        results.push(result);
        report(result);
    };
    const moved = () => results.filter((r) => r.status === "moved").length;
    const keys = plan.keys.filter((k) => !k.refused);
    const queue = keys.flatMap((key) => key.toMove.map((move) => ({ key, move })));
    const size = options.batch ?? queue.length;
    const stopAt = (key: KeyPlan, at: string, reason: Stop["reason"], message: string, extra: Partial<Stop> = {}): ApplyOutcome => ({
        results,
        ...(options.batch ? { resynced } : {}),
        stopped: { accountId: key.accountId, region: key.region, at, reason, message, moved: moved(), resume, ...extra },
    });
    // A resumed --batch run: servers moved before and not yet resynced come first.
    const waiting = keys.flatMap((key) => key.resyncing.map((s) => ({ key, id: s.sourceServerID })));
    if (options.batch && waiting.length > 0) {
        options.progress?.(`Waiting first for ${waiting.length} servers moved earlier to have a point in time on the key...`);
        const stop = await waitForResync(aws, waiting, 0, { ...options, clock, deadline, resynced, stopAt });
        if (stop) return stop;
    }
    for (let start = 0; start < queue.length; start += size) {
        const batch = queue.slice(start, start + size);
        const number = Math.floor(start / size) + 1;
        for (const { key, move } of batch) {
            if (deadline.reached())
                return stopAt(
                    key,
                    move.sourceServerID,
                    "time-limit",
                    `the ${deadline.minutes}-minute --time-limit was reached before ${move.sourceServerID}`,
                );
            try {
                const drs = await calling(key.accountId, "drs:UpdateReplicationConfiguration", () =>
                    aws.drsWriter(key.accountId, key.region),
                );
                record(await moveServer(drs, key, move));
            } catch (err) {
                if (!(err instanceof AccessStop)) throw err;
                return stopAt(key, move.sourceServerID, "access", err.stop.message, {
                    action: err.stop.action,
                    permission: err.stop.permission,
                });
            }
        }
        const movedNow = batch.filter(({ move }) => results.some((r) => r.sourceServerID === move.sourceServerID && r.status === "moved"));
        if (options.batch && movedNow.length > 0) {
            const stop = await waitForResync(
                aws,
                movedNow.map(({ key, move }) => ({ key, id: move.sourceServerID })),
                number,
                { ...options, clock, deadline, resynced, stopAt },
            );
            if (stop) return stop;
        }
    }
    return { results, ...(options.batch ? { resynced } : {}) };
}

/**
 * Waits until each server is back on continuous replication with its newest point in time on the
 * key, reading them every pollMs with progress; stops at the time limit or Ctrl-C, naming the batch.
 */
async function waitForResync(
    aws: AwsAccess,
    servers: { key: KeyPlan; id: string }[],
    batch: number,
    o: ApplyOptions & {
        clock: Clock;
        deadline: Deadline;
        resynced: string[];
        stopAt: (key: KeyPlan, at: string, reason: Stop["reason"], message: string, extra?: Partial<Stop>) => ApplyOutcome;
    },
): Promise<ApplyOutcome | undefined> {
    let pending = [...servers];
    const label = batch === 0 ? "the servers moved earlier" : `batch ${batch}`;
    for (;;) {
        const states: string[] = [];
        for (const key of [...new Set(pending.map((p) => p.key))]) {
            try {
                const ids = pending.filter((p) => p.key === key).map((p) => p.id);
                const drs = await calling(key.accountId, "drs:DescribeSourceServers", () => aws.drs(key.accountId, key.region));
                const ec2 = await calling(key.accountId, "ec2:DescribeSnapshots", () => aws.ec2(key.accountId, key.region));
                const listed = await calling(key.accountId, "drs:DescribeSourceServers", () =>
                    listSourceServers(drs, { sourceServerIDs: ids }),
                );
                for (const id of ids) {
                    const state = listed.find((s) => s.sourceServerID === id)?.dataReplicationInfo?.dataReplicationState ?? "UNKNOWN";
                    if (state !== "CONTINUOUS") {
                        states.push(`${id} ${state}`);
                        continue;
                    }
                    const pit = await calling(key.accountId, "drs:DescribeRecoverySnapshots", () =>
                        pointInTimeOnKey(drs, ec2, key.accountId, id, key.keyArn),
                    );
                    if (pit.onKey) {
                        o.resynced.push(id);
                        pending = pending.filter((p) => p.id !== id);
                        o.progress?.(`  ${id}: back on CONTINUOUS replication; ${pit.what}.`);
                    } else states.push(`${id} CONTINUOUS (${pit.what})`);
                }
            } catch (err) {
                if (!(err instanceof AccessStop)) throw err;
                const at = pending
                    .filter((p) => p.key === key)
                    .map((p) => p.id)
                    .join(", ");
                return o.stopAt(key, at, "access", `${err.stop.message}, while waiting for ${label}`, {
                    action: err.stop.action,
                    permission: err.stop.permission,
                });
            }
        }
        if (pending.length === 0) return undefined;
        const at = pending.map((p) => p.id).join(", ");
        if (o.signal?.aborted) return o.stopAt(pending[0].key, at, "interrupted", `stopped by Ctrl-C while waiting for ${label}`);
        if (o.deadline.reached())
            return o.stopAt(
                pending[0].key,
                at,
                "time-limit",
                `the ${o.deadline.minutes}-minute --time-limit was reached while waiting for ${label}`,
            );
        o.progress?.(`Waiting for ${label} to resync onto the key: ${states.join(", ")}...`);
        await o.clock.sleep(Math.min(o.pollMs ?? defaultBatchPollMs, o.deadline.left()), o.signal);
    }
}

/** One server: re-read (the plan may be stale), then one UpdateReplicationConfiguration, never resent. */
async function moveServer(drs: DrsClient, key: KeyPlan, move: ServerMove): Promise<MoveResult> {
    const result = { sourceServerID: move.sourceServerID, hostname: move.hostname, accountId: key.accountId, region: key.region };
    const newKeyArn = key.keyArn;
    const server: SourceServer = { sourceServerID: move.sourceServerID };
    let now;
    try {
        // The plan may be stale (another run, the console): touch nothing that needs no change.
        now = await calling(key.accountId, "drs:GetReplicationConfiguration", () => readServerEncryption(drs, server));
        if (isOnKey(now, newKeyArn)) return { ...result, newKeyArn, status: "skipped", message: "already on the key" };
    } catch (err) {
        if (err instanceof AccessStop) throw err;
        return { ...result, newKeyArn, status: "failed", message: failure(err) };
    }
    try {
        // Only these three fields: any other field would overwrite that server's own settings. Sent once.
        const answer = await calling(key.accountId, "drs:UpdateReplicationConfiguration", () =>
            drs.send(
                new UpdateReplicationConfigurationCommand({
                    sourceServerID: move.sourceServerID,
                    ebsEncryption: "CUSTOM",
                    ebsEncryptionKeyArn: newKeyArn,
                }),
            ),
        );
        if (answer?.ebsEncryption !== undefined && !isOnKey(answer, newKeyArn)) {
            return { ...result, newKeyArn, status: "failed", message: `DRS answered with ${describeEncryption(answer)}` };
        }
        return { ...result, newKeyArn, status: "moved", message: `was ${describeEncryption(now)}` };
    } catch (err) {
        if (err instanceof AccessStop) throw err;
        if (!answerLost(err)) return { ...result, newKeyArn, status: "failed", message: failure(err) };
        // The request may have reached DRS: what the server is on now says whether it did.
        try {
            const after = await readServerEncryption(drs, server);
            if (isOnKey(after, newKeyArn))
                return {
                    ...result,
                    newKeyArn,
                    status: "moved",
                    message: `was ${describeEncryption(now)} (the answer was lost; a re-read shows it on the key)`,
                };
            return {
                ...result,
                newKeyArn,
                status: "failed",
                message: `${failure(err)}: the answer was lost, and a re-read shows it still on ${describeEncryption(after)}; it was not sent again`,
            };
        } catch (again) {
            return {
                ...result,
                newKeyArn,
                status: "failed",
                message: `${failure(err)}: the answer was lost, and it could not be re-read (${failure(again)}); it was not sent again`,
            };
        }
    }
}
