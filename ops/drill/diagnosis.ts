// The KMS side of a drill that failed: the refused KMS calls on each key, from the CloudTrail of both accounts (a refused
// cross-account call is logged only in the caller's: docs/aws-requirements.md, "Where a refused KMS call is logged"), each
// explained by explain.ts. CloudTrail delivers without a guarantee: "none found" is said only once both trails were read for
// the whole window after a delivery wait; before that, "none found yet".
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { DrillAccess } from "../aws/access";
import { MalformedAnswer, failure, isAccessDenied } from "../aws/faults";
import { Clock, Deadline, pacer } from "../clock";
import { Io } from "../io";
import { type StagingKeyExport } from "../../program/contract";
import { plural } from "../../config/text";
import { DiagnosisContext, Refusal, TrailRecord, explainAll } from "./explain";

// The explanation's names, where the drill and the tests have always found them.
export { explain, explainAll } from "./explain";
export type { DiagnosisContext, Refusal, TrailRecord } from "./explain";

/** LookupEvents allows two requests a second per account and Region (CloudTrail quotas): never faster. */
export const lookupEventsIntervalMs = 500;
/** At most this many LookupEvents pages (50 events each) per trail and read: a busy account's KMS events are many. */
export const maxLookupPages = 100;
/** Minutes after the job's end to wait for CloudTrail's delivery before "none found" (--trail-wait). */
export const defaultTrailWaitMinutes = 15;
/** The window closes this long after the job (and, for --diagnose, opens this long before it). */
export const windowMarginMs = 5 * 60_000;
/** How often both trails are read again while the wait runs. */
export const defaultTrailPollMs = 2 * 60_000;

/** One account's trail, as the diagnosis of a key read it. */
export interface TrailRead {
    account: string;
    /** Whose principals it records refusals of: the target's, or the staging account's (DRS's own). */
    side: "target" | "staging";
    /** Read for the window up to `readTo`; not read: `error` says why. */
    readTo?: string;
    /** KMS events of the window looked at. */
    scanned: number;
    /** Stopped after maxLookupPages: older events were not read. */
    truncated: boolean;
    error?: string;
    /** For a trail that could not be read: what to do about it. */
    fix?: string;
}

export interface KeyDiagnosis {
    accountId: string;
    region: string;
    keyArn: string;
    from: string;
    to: string;
    /**
     * refusals: found some; none-yet: nothing so far, events may still arrive; none: nothing in
     * either trail over the whole window after the delivery wait; not-checked: a trail could not be read.
     */
    status: "refusals" | "none-yet" | "none" | "not-checked";
    refusals: Refusal[];
    trails: TrailRead[];
    /** KMS events looked at, both trails. */
    scanned: number;
    truncated: boolean;
    note: string;
}

/**
 * KMS events (EventSource kms.amazonaws.com) of the window in one trail that name the key and carry
 * an errorCode, at most maxLookupPages pages, paced to CloudTrail's rate. A token that comes back
 * twice, or an event that is not JSON, is an answer CloudTrail does not send.
 */
async function lookUpKeyErrors(
    trail: CloudTrailClient,
    key: StagingKeyExport,
    from: Date,
    to: Date,
    pace: (signal?: AbortSignal) => Promise<void>,
    signal?: AbortSignal,
): Promise<{ records: TrailRecord[]; scanned: number; truncated: boolean }> {
    const records: TrailRecord[] = [];
    const tokens = new Set<string>();
    let scanned = 0;
    let nextToken: string | undefined;
    for (let pages = 0; ; pages++) {
        if (pages >= maxLookupPages) return { records, scanned, truncated: true };
        await pace(signal);
        if (signal?.aborted) throw Object.assign(new Error("stopped by Ctrl-C"), { name: "Interrupted" });
        const page = await trail.send(
            new LookupEventsCommand({
                LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "kms.amazonaws.com" }],
                StartTime: from,
                EndTime: to,
                MaxResults: 50,
                NextToken: nextToken,
            }),
        );
        if (page?.Events !== undefined && !Array.isArray(page.Events))
            throw new MalformedAnswer("cloudtrail:LookupEvents", "Events that are not a list");
        for (const event of page?.Events ?? []) {
            scanned++;
            const text = event.CloudTrailEvent ?? "";
            const onKey = text.includes(key.keyId) || (event.Resources ?? []).some((r) => r.ResourceName === key.keyArn);
            if (!onKey) continue;
            let record: TrailRecord;
            try {
                record = JSON.parse(text) as TrailRecord;
            } catch {
                throw new MalformedAnswer(
                    "cloudtrail:LookupEvents",
                    `an event (${event.EventId ?? "?"}) whose CloudTrailEvent is not JSON`,
                );
            }
            if (record.errorCode) records.push({ ...record, eventName: record.eventName ?? event.EventName });
        }
        nextToken = page?.NextToken || undefined;
        if (!nextToken) return { records, scanned, truncated: false };
        if (tokens.has(nextToken)) throw new MalformedAnswer("cloudtrail:LookupEvents", "the same NextToken twice");
        tokens.add(nextToken);
    }
}

/** What a diagnosis reads: the keys, the job's window, and how long CloudTrail may take. */
export interface DiagnosisRequest {
    keys: StagingKeyExport[];
    /** The window: from this time (ms) to windowMarginMs after the job's end. */
    from: number;
    jobEnd: number;
    /** Minutes after the job's end CloudTrail may still deliver (--trail-wait). */
    waitMinutes: number;
    /** Read again every pollMs until the wait passes (a drill that just ended), or read once (--diagnose). */
    poll: boolean;
    pollMs?: number;
    /** The command that re-runs only the diagnosis. */
    rerun: string;
    /** The explanation's context for a key. */
    contextOf(key: StagingKeyExport): DiagnosisContext;
}

export interface DiagnosisDeps {
    access: Pick<DrillAccess, "cloudTrail">;
    target: string;
    clock: Clock;
    io: Io;
    deadline: Deadline;
    signal?: AbortSignal;
    /** How the messages name a failure to read a trail, by account (the flag or setting to fix). */
    fixFor(account: string, err: unknown): string;
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * The refusals on each key, from the target's trail and the staging account's, merged; polled until
 * a refusal is found, both trails are read past the window and the wait is over, the time limit
 * comes, or Ctrl-C. Progress on stderr.
 */
export async function diagnoseKeys(request: DiagnosisRequest, deps: DiagnosisDeps): Promise<KeyDiagnosis[]> {
    const { clock, io, deadline, signal } = deps;
    const from = request.from;
    const windowEnd = request.jobEnd + windowMarginMs;
    const waitEnd = request.jobEnd + request.waitMinutes * 60_000;
    const pollMs = request.pollMs ?? defaultTrailPollMs;
    const pacers = new Map<string, (signal?: AbortSignal) => Promise<void>>();
    const paced = (account: string, region: string) => {
        const id = `${account}/${region}`;
        if (!pacers.has(id)) pacers.set(id, pacer(clock, lookupEventsIntervalMs));
        return pacers.get(id)!;
    };
    const results = request.keys.map((key) => ({ key, diagnosis: undefined as KeyDiagnosis | undefined }));
    for (let round = 0; ; round++) {
        const to = Math.min(clock.now(), windowEnd);
        for (const entry of results) {
            if (entry.diagnosis && entry.diagnosis.status !== "none-yet") continue;
            entry.diagnosis = await readBothTrails(entry.key, request.contextOf(entry.key), from, to, paced, deps, round === 0);
        }
        const now = clock.now();
        const complete = now >= waitEnd && to >= windowEnd;
        for (const { diagnosis: d } of results) if (d!.status === "none-yet" && complete) settleNone(d!, request.waitMinutes);
        const pending = results.filter(({ diagnosis: d }) => d!.status === "none-yet");
        if (pending.length === 0 || !request.poll || signal?.aborted || deadline.reached()) break;
        const wake = Math.min(now + pollMs, Math.max(waitEnd, windowEnd), now + deadline.left());
        io.err(
            `CloudTrail: no refused KMS call yet on ${plural(pending.length, "key")} (both trails read to ${isoSeconds(to)}); ` +
                `waiting for delivery until ${isoSeconds(waitEnd)} (--trail-wait ${request.waitMinutes}), reading again at ${isoSeconds(wake)}...\n`,
        );
        await clock.sleep(Math.max(0, wake - now), signal);
    }
    for (const { diagnosis: d } of results) {
        if (d!.status !== "none-yet") continue;
        const why = signal?.aborted
            ? " (stopped by Ctrl-C)"
            : deadline.reached()
              ? ` (${deadline.minutes}-minute --time-limit reached)`
              : "";
        d!.note =
            `No refused KMS call found yet on the key in either trail among ${plural(d!.scanned, "KMS event")} so far${why}. CloudTrail delivers ` +
            `in about 5 minutes on average, without a guarantee: events of the job may still arrive until ${isoSeconds(waitEnd)} and later. ` +
            `Re-run only the diagnosis: ${request.rerun}${truncatedNote(d!)}`;
    }
    return results.map(({ diagnosis }) => diagnosis!);
}

/** One read of both trails for a key: the staging account's and the target's, in the key's Region. */
async function readBothTrails(
    key: StagingKeyExport,
    ctx: DiagnosisContext,
    from: number,
    to: number,
    paced: (account: string, region: string) => (signal?: AbortSignal) => Promise<void>,
    deps: DiagnosisDeps,
    announce: boolean,
): Promise<KeyDiagnosis> {
    const d: KeyDiagnosis = {
        accountId: key.accountId,
        region: key.region,
        keyArn: key.keyArn,
        from: isoSeconds(from),
        to: isoSeconds(to),
        status: "none-yet",
        refusals: [],
        trails: [],
        scanned: 0,
        truncated: false,
        note: "",
    };
    const records: (TrailRecord & { trailAccount: string })[] = [];
    for (const [account, side] of [
        [deps.target, "target"],
        [key.accountId, "staging"],
    ] as const) {
        if (announce)
            deps.io.err(
                `Looking up refused KMS calls on ${key.keyArn} in CloudTrail of ${account} (the ${side} account, ${key.region}), ${d.from} to ${d.to}...\n`,
            );
        const read: TrailRead = { account, side, scanned: 0, truncated: false };
        d.trails.push(read);
        try {
            deps.deadline.check();
            const trail = await deps.access.cloudTrail(account, key.region);
            const found = await lookUpKeyErrors(trail, key, new Date(from), new Date(to), paced(account, key.region), deps.signal);
            records.push(...found.records.map((r) => ({ ...r, trailAccount: account })));
            Object.assign(read, { readTo: d.to, scanned: found.scanned, truncated: found.truncated });
        } catch (err) {
            read.error = `${failure(err)}${isAccessDenied(err) ? " (cloudtrail:LookupEvents)" : ""}`;
            read.fix = deps.fixFor(account, err);
        }
    }
    d.scanned = d.trails.reduce((n, t) => n + t.scanned, 0);
    d.truncated = d.trails.some((t) => t.truncated);
    d.refusals = explainAll(records, ctx);
    const unread = d.trails.filter((t) => t.error);
    const unreadNote = unread.map((t) => ` The ${t.side} account's trail (${t.account}) could not be read: ${t.error}. ${t.fix}`).join("");
    if (d.refusals.length > 0) {
        d.status = "refusals";
        d.note = `${plural(d.refusals.length, "kind")} of refused KMS call on the key.${unreadNote}${truncatedNote(d)}`;
    } else if (unread.length > 0) {
        d.status = "not-checked";
        d.note = `Not checked: nothing found in the trail that could be read, and a refusal may be in the other.${unreadNote}`;
    }
    return d;
}

/** Both trails read over the whole window after the wait, and nothing: what "none" may claim. */
function settleNone(d: KeyDiagnosis, waitMinutes: number): void {
    d.status = "none";
    d.note =
        `No refused KMS call on the key in either trail (target and staging) among ${plural(d.scanned, "KMS event")} of the window, ` +
        `read ${waitMinutes} minutes after the job ended (--trail-wait). CloudTrail does not guarantee delivery, so this is what arrived, ` +
        `not a proof: most likely the failure is not a KMS refusal: read the job's message.${truncatedNote(d)}`;
}

function truncatedNote(d: KeyDiagnosis): string {
    return d.truncated ? ` Only the newest ${maxLookupPages * 50} KMS events of a trail's window were read.` : "";
}
