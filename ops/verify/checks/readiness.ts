// Per-server readiness: for each server of a staging place and a target, everything that decides
// whether the target can recover it now, on one line: extended into the target, on the key, its
// replication state, lag and backlog, the age of its latest point in time, its last drill or
// recovery. The check judges lag and the latest point in time (the other checks judge the rest
// and are named on the line); the rows are verify's per-server view (docs/verify.md, "Per-server readiness").
import { DescribeRecoverySnapshotsCommand, DrsClient, SourceServer } from "@aws-sdk/client-drs";
import { StagingKeyExport } from "../../../program/contract";
import { ServerEncryption, healthyReplicationStates, hostnameOf, isOnKey, serverIdOfArn } from "../../aws/sourceServers";
import { mapLimit } from "../lists";
import { Outcome, ReadinessThresholds } from "../types";

/** One server's readiness in one target, as verify's JSON gives it (details of server-readiness). */
export interface ServerReadiness {
    /** The staging server's ID (the target's extended server is targetSourceServerID). */
    sourceServerID: string;
    hostname?: string;
    targetSourceServerID?: string;
    readiness: "ready" | "not ready" | "left out";
    /** Why not ready, each naming the check that judges it. */
    problems: string[];
    extended: boolean;
    onKey: "yes" | "no" | "unencrypted" | "not read";
    encryption?: string;
    replicationState?: string;
    lagDuration?: string;
    lagMinutes?: number;
    backlogBytes?: number;
    latestPointInTime?: string;
    pointInTimeAgeMinutes?: number;
    lastLaunch?: string;
    lastLaunchAgeDays?: number;
}

export interface ReadinessInput {
    key: StagingKeyExport;
    target: string;
    /** The servers replicating in the staging area, and their replication settings as read there. */
    staged: SourceServer[];
    encryptions: Map<string, ServerEncryption>;
    /** The servers extended from the staging account into the target. */
    extended: SourceServer[];
    /** Servers the target leaves out on purpose (target.unprotectedServers). */
    leftOut: { sourceServerId: string; reason: string }[];
    now: number;
    thresholds: ReadinessThresholds;
}

/** GetReplicationConfiguration and DescribeRecoverySnapshots calls in flight at once, per key. */
const readConcurrency = 8;
const minute = 60_000;

/**
 * The latest point in time of each staging server (DescribeRecoverySnapshots, newest first, one
 * item), read in the staging account: the snapshots are the staging area's.
 */
export async function latestPointsInTime(drs: DrsClient, serverIds: string[]): Promise<Map<string, string | undefined>> {
    const read = await mapLimit(serverIds, readConcurrency, async (sourceServerID) => {
        const answer = await drs.send(new DescribeRecoverySnapshotsCommand({ sourceServerID, order: "DESC", maxResults: 1 }));
        const latest = answer?.items?.[0];
        return [sourceServerID, latest?.timestamp ?? latest?.expectedTimestamp] as const;
    });
    return new Map(read);
}

/** An ISO 8601 duration as DRS gives lagDuration ("PT1H2M3S", "P1DT2H"), in minutes; undefined if it is not one. */
export function durationMinutes(duration: string | undefined): number | undefined {
    const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(duration ?? "");
    if (!m || duration === "P" || duration?.endsWith("T")) return undefined;
    const [days, hours, minutes, seconds] = m.slice(1).map((x) => Number(x ?? 0));
    return days * 24 * 60 + hours * 60 + minutes + seconds / 60;
}

export function readinessRows(input: ReadinessInput, points: Map<string, string | undefined>): ServerReadiness[] {
    const { key, target, now, thresholds } = input;
    const extendedByStagingId = new Map(input.extended.map((s) => [serverIdOfArn(s.stagingArea?.stagingSourceServerArn), s]));
    const stagedIds = new Set(input.staged.map((s) => s.sourceServerID));
    const rows = input.staged.map((s) => row(s, extendedByStagingId.get(s.sourceServerID)));
    // Extended servers whose staging server the staging listing did not show (deleted there since). One
    // that names no staging server cannot be tied to one: extension-coverage and the target's checks judge it.
    for (const e of input.extended) {
        const stagingId = serverIdOfArn(e.stagingArea?.stagingSourceServerArn);
        if (stagingId && !stagedIds.has(stagingId)) rows.push(row(undefined, e, stagingId));
    }
    return rows.sort((a, b) => rank(a) - rank(b) || a.sourceServerID.localeCompare(b.sourceServerID));

    function row(staged: SourceServer | undefined, extended: SourceServer | undefined, stagingId?: string): ServerReadiness {
        const id = staged?.sourceServerID ?? stagingId ?? extended?.sourceServerID ?? "?";
        const problems: string[] = [];
        const leftOut = input.leftOut.find((u) => u.sourceServerId === id);
        const r: ServerReadiness = {
            sourceServerID: id,
            hostname: hostnameOf((staged ?? extended)!),
            ...(extended ? { targetSourceServerID: extended.sourceServerID } : {}),
            readiness: "ready",
            problems,
            extended: extended !== undefined && extended.stagingArea?.status !== "EXTENSION_ERROR",
            onKey: "not read",
        };
        if (!extended)
            problems.push(leftOut ? `left out of ${target}: ${leftOut.reason}` : `not extended into ${target} (extension-coverage)`);
        else if (extended.stagingArea?.status === "EXTENSION_ERROR") problems.push("extension error (extended-server-replication)");
        const encryption = input.encryptions.get(id);
        if (encryption) {
            r.encryption = encryption.ebsEncryption === "CUSTOM" ? `CUSTOM ${encryption.ebsEncryptionKeyArn}` : encryption.ebsEncryption;
            r.onKey = isOnKey(encryption, key.keyArn) ? "yes" : encryption.ebsEncryption === "NONE" ? "unencrypted" : "no";
            if (r.onKey === "no") problems.push(`not on the key: ${r.encryption} (source-server-encryption)`);
        } else if (!staged)
            problems.push(`its staging server ${stagingId ?? "(not named)"} is not in ${key.accountId}/${key.region}'s listing`);
        const info = (extended ?? staged)?.dataReplicationInfo;
        r.replicationState = info?.dataReplicationState;
        if (r.replicationState && !healthyReplicationStates.includes(r.replicationState))
            problems.push(`replication ${r.replicationState} (extended-server-replication)`);
        if (info?.lagDuration !== undefined) {
            r.lagDuration = info.lagDuration;
            r.lagMinutes = durationMinutes(info.lagDuration);
            if (r.lagMinutes === undefined) problems.push(`lag ${info.lagDuration} is not a duration verify can read`);
            else if (r.lagMinutes > thresholds.maxLagMinutes)
                problems.push(`lag ${Math.round(r.lagMinutes)} min, over ${thresholds.maxLagMinutes} (--max-lag)`);
        }
        const backlog = info?.replicatedDisks?.reduce((sum, d) => sum + (d.backloggedStorageBytes ?? 0), 0);
        if (info?.replicatedDisks?.length) r.backlogBytes = backlog;
        if (points.has(id)) {
            const at = points.get(id);
            r.latestPointInTime = at;
            const time = Date.parse(at ?? "");
            if (!Number.isNaN(time)) r.pointInTimeAgeMinutes = Math.max(0, Math.round((now - time) / minute));
            if (at === undefined) problems.push("no point in time yet: nothing to recover from");
            else if (r.pointInTimeAgeMinutes === undefined) problems.push(`latest point in time ${at} is not a time verify can read`);
            else if (r.pointInTimeAgeMinutes > thresholds.maxSnapshotAgeMinutes)
                problems.push(
                    `latest point in time ${ago(r.pointInTimeAgeMinutes)}, over ${thresholds.maxSnapshotAgeMinutes} min (--max-snapshot-age)`,
                );
        }
        const last = extended?.lifeCycle?.lastLaunch;
        if (extended) {
            const at = Date.parse(last?.initiated?.apiCallDateTime ?? "");
            if (!last?.initiated?.type || Number.isNaN(at)) problems.push("never drilled or recovered (extended-server-drills)");
            else {
                r.lastLaunch = `${last.initiated.type} ${last.status ?? ""}`.trim();
                r.lastLaunchAgeDays = Math.floor((now - at) / (24 * 60 * minute));
                if (last.status === "FAILED") problems.push(`last ${last.initiated.type} failed (extended-server-drills)`);
                else if (r.lastLaunchAgeDays > thresholds.maxDrillAgeDays)
                    problems.push(
                        `last drilled ${r.lastLaunchAgeDays} days ago, over ${thresholds.maxDrillAgeDays} (extended-server-drills)`,
                    );
            }
        }
        r.readiness = leftOut && !extended ? "left out" : problems.length > 0 ? "not ready" : "ready";
        return r;
    }
}

const rank = (r: ServerReadiness) => (r.readiness === "not ready" ? 0 : r.readiness === "left out" ? 1 : 2);

/** "4 min ago", "3 h ago", "2 days ago". */
export function ago(minutes: number): string {
    if (minutes < 120) return `${minutes} min ago`;
    if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ago`;
    return `${Math.floor(minutes / (24 * 60))} days ago`;
}

/**
 * The check: FAIL when a server's lag or latest point in time is over its threshold (or it has
 * none), the measures only this check reads; WARN when servers are not ready for reasons other
 * checks judge; PASS when every server is ready. The message is the place's summary.
 */
export function serverReadiness(input: ReadinessInput, points: Map<string, string | undefined>): Outcome {
    const rows = readinessRows(input, points);
    const where = `${input.key.accountId}/${input.key.region}`;
    if (rows.length === 0) return { status: "PASS", message: `No server replicates in ${where} or is extended from it: nothing to check.` };
    const ready = rows.filter((r) => r.readiness === "ready").length;
    const leftOut = rows.filter((r) => r.readiness === "left out").length;
    const stale = rows.filter((r) => r.problems.some((p) => /--max-lag|--max-snapshot-age|no point in time|verify can read/.test(p)));
    const notReady = rows.length - ready - leftOut;
    const message =
        `${ready} of ${rows.length} server${rows.length === 1 ? "" : "s"} of ${where} ready in ${input.target}` +
        (notReady > 0 ? `, ${notReady} not ready` : "") +
        (leftOut > 0 ? `, ${leftOut} left out on purpose` : "") +
        (stale.length > 0 ? ` (${stale.length} behind: lag or latest point in time)` : "") +
        ".";
    if (stale.length > 0)
        return {
            status: "FAIL",
            message,
            fix:
                "A server behind cannot be recovered to a recent point: look at its data replication in the staging account's DRS console " +
                "(agent, replication server, network, backlog). The thresholds are --max-lag and --max-snapshot-age (minutes).",
            details: rows as unknown as Record<string, unknown>[],
        };
    if (notReady > 0)
        return {
            status: "WARN",
            message,
            fix: "Each server's line names what it lacks and the check that says how to fix it.",
            details: rows as unknown as Record<string, unknown>[],
        };
    return { status: "PASS", message, details: rows as unknown as Record<string, unknown>[] };
}
