// The KMS side of a drill that failed: the refused KMS calls on each key, read from the CloudTrail
// of both accounts, since AWS logs a cross-account call refused for access only in the caller's
// account (docs/aws-requirements.md, "Where a refused KMS call is logged"): the target's trail for
// the target's principals, the staging account's for DRS's own. Each refusal is explained with the
// setting or statement that would allow it, from the builders the stacks deploy. CloudTrail delivers
// in about 5 minutes on average, without a guarantee: "none found" is said only once both trails
// were read for the whole window and a delivery wait has passed; before that, "none found yet".
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import type { Settings } from "../../config";
import { targetKeyUsePolicyName } from "../../components/defaults";
import {
    PolicyDocument,
    TargetAccess,
    accountRootArn,
    allowStatements,
    awsPrincipals,
    buildKeyPolicy,
    buildTargetKeyUsePolicy,
    drsServiceLinkedRoleArn,
    drsServiceLinkedRoleName,
    drsStagingRoleName,
    grantsAction,
    isIdentityCenterRole,
    parseRoleArn,
    partitionOf,
} from "../../components/policies";
import { DrillAccess } from "../aws/access";
import { MalformedAnswer, failure, isAccessDenied, isDeniedCode } from "../aws/faults";
import { Clock, Deadline, pacer } from "../clock";
import { Io } from "../io";
import { type StagingKeyExport } from "../../program/contract";
import { plural } from "../../config/text";

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

export interface Refusal {
    action: string;
    errorCode: string;
    errorMessage?: string;
    principal: string;
    principalAccount?: string;
    roleName?: string;
    /** The service the call came through (invokedBy, sourceIPAddress). */
    through: string;
    /** The account whose CloudTrail recorded it: the caller's, for a refusal across accounts. */
    trailAccount: string;
    count: number;
    firstSeen: string;
    lastSeen: string;
    eventId?: string;
    sharedEventId?: string;
    cause: string;
    fix: string;
    /** The setting or statement that would allow it. */
    allowedBy?: string;
}

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

/** A CloudTrail record, as far as the diagnosis reads it. */
export interface TrailRecord {
    eventTime?: string;
    eventName?: string;
    errorCode?: string;
    errorMessage?: string;
    sourceIPAddress?: string;
    eventID?: string;
    sharedEventID?: string;
    userIdentity?: {
        type?: string;
        arn?: string;
        accountId?: string;
        principalId?: string;
        invokedBy?: string;
        sessionContext?: { sessionIssuer?: { type?: string; arn?: string; userName?: string; accountId?: string } };
    };
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

export interface DiagnosisContext {
    target: string;
    stagingAccount: string;
    region: string;
    keyArn: string;
    targetAccess: TargetAccess;
    keyUserRoleNames: string[];
    identityCenter: boolean;
    stagingStacks: string[];
    deploy: Settings["deploy"];
    stack: string;
    /** Role unique IDs (AROA...) to names, for records that give only a principalId. */
    knownRoleIds: Map<string, string>;
    /** The key's DRSStagingAccountRole_<target> (the stack's stagingKeys output). */
    stagingRoleArn: string;
    /** The key's other targets, when it serves several: its policy has a statement set for each. */
    otherTargets?: { targetAccountId: string; stagingRoleArn: string }[];
}

interface Principal {
    label: string;
    arn?: string;
    accountId?: string;
    type?: string;
    roleName?: string;
    /** An AWS service's own session (EC2's infrastructure session, a service principal), in words: never a role of the user's. */
    service?: string;
}

/**
 * An AWS service's own identity: a service principal (type AWSService), or a session of a role
 * AWS owns (its name starts with "aws:", such as EC2's aws:ec2-infrastructure, which attaches
 * encrypted volumes: docs/aws-requirements.md, "Where a refused KMS call is logged").
 */
function serviceSession(r: TrailRecord, arn: string | undefined, roleName: string | undefined): string | undefined {
    const id = r.userIdentity ?? {};
    if (id.type === "AWSService") return `the AWS service ${id.invokedBy ?? "(unnamed)"}`;
    if (!roleName?.startsWith("aws:")) return undefined;
    const session = /:assumed-role\/[^/]+\/(.+)$/.exec(arn ?? "")?.[1];
    const name = roleName === "aws:ec2-infrastructure" ? "EC2's infrastructure session" : "an AWS service's own session";
    return `${name} (${roleName}${session ? `, for ${session}` : ""})`;
}

function principalOf(r: TrailRecord, known: Map<string, string>): Principal {
    const id = r.userIdentity ?? {};
    const issuer = id.sessionContext?.sessionIssuer;
    const arn = id.arn ?? issuer?.arn ?? /User: (arn:\S+) is not authorized/.exec(r.errorMessage ?? "")?.[1];
    const accountId = id.accountId ?? issuer?.accountId ?? arn?.split(":")[4];
    const roleName =
        (issuer?.type === "Role" ? issuer.userName : undefined) ??
        /:assumed-role\/([^/]+)\//.exec(arn ?? "")?.[1] ??
        (arn ? parseRoleArn(arn)?.name : undefined) ??
        known.get((id.principalId ?? "").split(":")[0]);
    const label =
        arn ??
        (roleName
            ? `role ${roleName} of ${accountId}`
            : `${id.type ?? "an identity"} ${id.principalId ?? ""} of ${accountId ?? "an unknown account"}`.trim());
    return { label, arn, accountId, type: id.type, roleName, service: serviceSession(r, arn, roleName) };
}

/** The service a call came through: the service that made it for the caller, or where it came from. */
function throughOf(r: TrailRecord): { through: string; direct: boolean } {
    const by = r.userIdentity?.invokedBy;
    if (by) return { through: by, direct: false };
    const ip = r.sourceIPAddress;
    if (ip && /amazonaws\.com$/.test(ip)) return { through: ip, direct: false };
    if (ip === "AWS Internal") return { through: "an AWS service (AWS Internal)", direct: false };
    return ip ? { through: `directly, from ${ip}`, direct: true } : { through: "unknown", direct: false };
}

/**
 * Groups the records by who, what, how and whose trail recorded them, and explains each. A record
 * without `trailAccount` counts as recorded in its caller's account.
 */
export function explainAll(records: (TrailRecord & { trailAccount?: string })[], ctx: DiagnosisContext): Refusal[] {
    const groups = new Map<string, Refusal>();
    for (const r of records) {
        const principal = principalOf(r, ctx.knownRoleIds);
        const { through } = throughOf(r);
        const action = `kms:${r.eventName ?? "?"}`;
        const trailAccount = r.trailAccount ?? principal.accountId ?? "?";
        const id = [principal.label, action, r.errorCode, through, trailAccount].join("|");
        const time = r.eventTime ?? "";
        const existing = groups.get(id);
        if (existing) {
            existing.count++;
            if (time < existing.firstSeen) existing.firstSeen = time;
            if (time > existing.lastSeen) existing.lastSeen = time;
            continue;
        }
        groups.set(id, {
            action,
            errorCode: r.errorCode ?? "",
            errorMessage: r.errorMessage,
            principal: principal.label,
            principalAccount: principal.accountId,
            roleName: principal.roleName,
            through,
            trailAccount,
            count: 1,
            firstSeen: time,
            lastSeen: time,
            eventId: r.eventID,
            sharedEventId: r.sharedEventID,
            ...explain(r, principal, ctx),
        });
    }
    return [...groups.values()];
}

/** The Sid of the first Allow statement of `doc` that grants `action` (to `principal`, when given). */
function allowing(doc: PolicyDocument, action: string, principal?: string): string | undefined {
    return allowStatements(doc).find((st) => grantsAction(st, action) && (!principal || awsPrincipals(st).includes(principal)))?.Sid;
}

/**
 * What the program's own policies allow for this key, from the builders the stacks deploy (so the
 * diagnosis cannot drift from them): the key policy, and the target's key-use policy, per mode.
 */
function programPolicies(ctx: DiagnosisContext) {
    const partition = partitionOf(ctx.region);
    const keyPolicy = (targetAccess: TargetAccess) =>
        buildKeyPolicy({
            stagingAccountId: ctx.stagingAccount,
            targetAccountId: ctx.target,
            region: ctx.region,
            stagingRoleArn: ctx.stagingRoleArn,
            targetAccess,
            additionalTargets: ctx.otherTargets,
        });
    const keyUse = (targetAccess: TargetAccess) => buildTargetKeyUsePolicy({ keyArns: [ctx.keyArn], targetAccess });
    return {
        targetRoot: accountRootArn(partition, ctx.target),
        serviceLinkedRole: drsServiceLinkedRoleArn(partition, ctx.stagingAccount),
        keyPolicy,
        keyUse,
    };
}

/**
 * An AWS service's own session refused: it acts on the key through a grant for the resource (EC2
 * attaching a volume), never through a role of the user's, so the way to allow it is the grant:
 * the target may create grants for AWS resources only with key.targetAccess ebs-shared-snapshots.
 */
function explainServiceSession(
    action: string,
    p: Principal,
    ctx: DiagnosisContext,
    h: { policies: ReturnType<typeof programPolicies>; other: TargetAccess; switchAccess: string; verifyStaging: string; event: string },
): { cause: string; fix: string; allowedBy?: string } {
    const notARole = `Not a role to add to target.keyUserRoleNames: ${p.service} is AWS's, not yours.`;
    if (p.accountId === ctx.target) {
        const grantsNow = allowing(h.policies.keyPolicy(ctx.targetAccess), "kms:CreateGrant", h.policies.targetRoot);
        const grantsOther = allowing(h.policies.keyPolicy(h.other), "kms:CreateGrant", h.policies.targetRoot);
        if (!grantsNow && grantsOther)
            return {
                cause:
                    `${action} was refused to ${p.service}, which uses the key through a grant for the volume. With key.targetAccess ` +
                    "documented the target may not create grants on the key (kms:CreateGrant for AWS resources), so there is none.",
                fix: `${notARole} Switch to the fallback: ${h.switchAccess}`,
                allowedBy: `key.targetAccess: ebs-shared-snapshots (key policy statement ${grantsOther}: grants for AWS resources)`,
            };
        return {
            cause:
                `${action} was refused to ${p.service}, which uses the key through a grant for the volume: the grant is missing or was revoked` +
                `${grantsNow ? `, although the program lets the target create it (${grantsNow})` : ""}.`,
            fix: `${notARole} ${h.verifyStaging}; \`pulumi up\` the target stack and drill again; if it stays, report it with the event (${h.event}).`,
            ...(grantsNow ? { allowedBy: `key policy statement ${grantsNow} (grants for AWS resources)` } : {}),
        };
    }
    if (p.accountId === ctx.stagingAccount) {
        const sid = allowing(h.policies.keyPolicy(ctx.targetAccess), "kms:CreateGrant", h.policies.serviceLinkedRole);
        return {
            cause:
                `${action} was refused to ${p.service} in the staging account, which uses the key through a grant DRS's service-linked role ` +
                `creates (${sid ?? "?"}): the key policy drifted or the grant was revoked.`,
            fix: `${notARole} ${h.verifyStaging}.`,
            ...(sid ? { allowedBy: `key policy statement ${sid}` } : {}),
        };
    }
    return {
        cause: `${action} was refused to ${p.service}, in account ${p.accountId ?? "?"}, neither the target nor the staging account.`,
        fix: `${notARole} Not the drill's chain: nothing to change unless that account should recover these servers.`,
    };
}

/** Why KMS refused this call, and the setting or statement that would allow it. */
export function explain(r: TrailRecord, p: Principal, ctx: DiagnosisContext): { cause: string; fix: string; allowedBy?: string } {
    const action = `kms:${r.eventName ?? "?"}`;
    const { direct, through } = throughOf(r);
    const ec2 = `ec2.${ctx.region}.amazonaws.com`;
    const verifyStaging = "run verify on the staging stack (its key-policy check), then `pulumi up` it";
    const event = r.sharedEventID ? `sharedEventID ${r.sharedEventID}` : `eventID ${r.eventID ?? "?"}`;
    if (!isDeniedCode(r.errorCode ?? "")) {
        if (/Disabled|KMSInvalidState/.test(r.errorCode ?? ""))
            return {
                cause: `the key could not be used (${r.errorCode}): it is disabled or pending deletion.`,
                fix: `Run verify on the staging stack (its key-state check); enable the key (aws kms enable-key --key-id ${ctx.keyArn} --region ${ctx.region}).`,
            };
        return {
            cause: `KMS answered ${r.errorCode}: ${r.errorMessage ?? "no message"}.`,
            fix: "Not an access refusal: read the event in CloudTrail.",
        };
    }
    const policies = programPolicies(ctx);
    const other: TargetAccess = ctx.targetAccess === "documented" ? "ebs-shared-snapshots" : "documented";
    // The key policy statement for the target (its root) now, and in the other mode; the key-use statement that goes with it.
    const targetNow = allowing(policies.keyPolicy(ctx.targetAccess), action, policies.targetRoot);
    const targetOther = allowing(policies.keyPolicy(other), action, policies.targetRoot);
    const useNow = allowing(policies.keyUse(ctx.targetAccess), action);
    const useOther = allowing(policies.keyUse(other), action);
    const stacks = (ctx.deploy === "all" ? [ctx.stack] : [...ctx.stagingStacks, ctx.stack]).join(", ");
    const switchAccess =
        `set key.targetAccess to ebs-shared-snapshots in every staging stack and the target stack (${stacks}): ` +
        "`pulumi config set --path drs-cross-account-kms:key.targetAccess ebs-shared-snapshots --stack <each>`; " +
        "`pulumi up` the staging stacks, then the target stack, and drill again. Each added action stays limited to EC2 in the key's Region (grants to AWS resources).";
    const needsFallback = !targetNow && targetOther !== undefined && other === "ebs-shared-snapshots";
    if (p.service) return explainServiceSession(action, p, ctx, { policies, other, switchAccess, verifyStaging, event });
    if (p.accountId === ctx.target) {
        const name = p.roleName;
        if (name === drsServiceLinkedRoleName) {
            return {
                cause:
                    `${action} was refused to the target account's DRS service-linked role. IAM cannot give a service-linked role permissions ` +
                    '(docs/aws-requirements.md, "Service-linked roles take no policies"), and no setting of this program allows it.',
                fix:
                    'This is outside what AWS documents and this program models (docs/aws-requirements.md, "Who calls KMS in the target (inferred)"): ' +
                    `report it with the event (${event}).`,
            };
        }
        if (!name) {
            return {
                cause: `${action} was refused to an identity of the target account that this CloudTrail record does not name (${p.label}).`,
                fix:
                    `Look the event up in the target account's CloudTrail (${r.sharedEventID ? `sharedEventID ${r.sharedEventID}` : `around ${r.eventTime}`}) to name it. ` +
                    "A role not in target.keyUserRoleNames: add it there; a role in it refused Decrypt, GenerateDataKey* or CreateGrant: key.targetAccess ebs-shared-snapshots.",
            };
        }
        const sso = isIdentityCenterRole(name);
        const listed = ctx.keyUserRoleNames.some((n) => n.toLowerCase() === name.toLowerCase());
        if (sso && !ctx.identityCenter) {
            return {
                cause: `${action} was refused to ${name}, a role of an IAM Identity Center permission set, and the stack sets no identityCenter: no key-use policy reaches it.`,
                fix: `Set identityCenter (instanceArn, and permissionSetArns with that permission set) in the target stack (${ctx.stack}) and \`pulumi up\` it; sign in again and drill.`,
                allowedBy: "identityCenter.permissionSetArns (the permission set references the key-use policies)",
            };
        }
        if (!listed && !sso) {
            const then = needsFallback ? ` If it is then still refused ${action}, ${switchAccess}` : "";
            return {
                cause:
                    `${action} was refused to the target role ${name}, which is not in target.keyUserRoleNames: it holds no key-use policy, and ` +
                    'cross-account use of the key needs one in the target as well as the key policy (docs/aws-requirements.md, "Who calls KMS in the target (inferred)").',
                fix:
                    `Add ${name} to drs-cross-account-kms:target.keyUserRoleNames in the target stack (${ctx.stack}) and \`pulumi up\` it, then drill as it (--role ${name}); ` +
                    `or drill as a role already there${ctx.keyUserRoleNames[0] ? ` (--role ${ctx.keyUserRoleNames[0]})` : ""}, or use identityCenter for people who sign in through IAM Identity Center.${then}`,
                allowedBy: `target.keyUserRoleNames (the key-use policy ${targetKeyUsePolicyName}, statement ${useNow ?? useOther ?? "?"})`,
            };
        }
        const who = sso
            ? `${name} (an IAM Identity Center role; if its permission set is not in identityCenter.permissionSetArns, add it first)`
            : `${name} (in target.keyUserRoleNames)`;
        if (direct) {
            return {
                cause: `${action} was called directly (${through}), not through ${ec2}: the program lets the target use the key only through EC2 in the key's Region (kms:ViaService).`,
                fix: "Nothing to change for the drill: DRS uses the key through EC2. A direct call (a script, the CLI) is refused by design.",
            };
        }
        if (needsFallback) {
            return {
                cause:
                    `${action} was refused to ${who}: with key.targetAccess documented the key policy gives the target only what the DRS ` +
                    "multi-account page documents (ReEncrypt* through EC2, and DescribeKey), and this recovery needed more.",
                fix: `Switch to the fallback: ${switchAccess}`,
                allowedBy: `key.targetAccess: ebs-shared-snapshots (key policy statement ${targetOther}, and the key-use policy's ${useOther ?? "?"})`,
            };
        }
        if (!targetNow) {
            return {
                cause: `${action} was refused to ${who}: the program grants the target no such action in either key.targetAccess mode.`,
                fix: `Outside what AWS documents for DRS and EBS: report it with the event (${event}).`,
            };
        }
        return {
            cause:
                `${action} was refused to ${who}, although the program's key policy (${targetNow}) and key-use policy (${useNow ?? "?"}) allow it: ` +
                "one of them drifted or is not attached to the role, or something else denies it (a service control policy, a permissions boundary, a session policy).",
            fix: `${verifyStaging}; \`pulumi up\` the target stack (it attaches the key-use policies); check the role's other policies, boundary and your SCPs.`,
            allowedBy: `key policy statement ${targetNow} and the key-use policy's ${useNow ?? "?"}`,
        };
    }
    if (p.accountId === ctx.stagingAccount) {
        const name = p.roleName;
        const staged =
            name === drsServiceLinkedRoleName
                ? { who: "the staging account's DRS service-linked role", principal: policies.serviceLinkedRole }
                : name === drsStagingRoleName(ctx.target)
                  ? { who: name, principal: ctx.stagingRoleArn }
                  : undefined;
        if (!staged) {
            return {
                cause: `${action} was refused to ${p.label}, an identity of the staging account that is not part of DRS's chain.`,
                fix: "Not the drill's chain: if it should use the key, give it KMS permissions with IAM in the staging account (the key policy lets the account's IAM policies grant use).",
            };
        }
        const sid = allowing(policies.keyPolicy(ctx.targetAccess), action, staged.principal);
        if (!sid) {
            return {
                cause: `${action} was refused to ${staged.who}: the program's key policy grants it no such action (it follows what AWS documents).`,
                fix: `Outside what AWS documents: ${verifyStaging} to rule out drift, and report it with the event (${event}).`,
            };
        }
        const replaced = name === drsServiceLinkedRoleName ? "" : ", or the role was replaced (KMS stored the old one)";
        return {
            cause: `${action} was refused to ${staged.who}, which the program's key policy allows (${sid}): the key policy drifted${replaced}.`,
            fix: `The key policy drifted: ${verifyStaging}${replaced ? " (it re-applies the policy for a replaced role)" : ""}.`,
            allowedBy: `key policy statement ${sid}`,
        };
    }
    return {
        cause: `${action} was refused to ${p.label}, of account ${p.accountId ?? "?"}, neither the target nor the staging account: the key policy allows neither.`,
        fix: "Not the drill's chain: nothing to change unless that account should recover these servers (then it is the target of another stack).",
    };
}
