// align-servers: brings each source server replicating into a staging account onto that entry's
// staging key. The replication template is only the default for servers added later; every server
// keeps its own replication configuration (docs/aws-requirements.md, "Per-server replication settings"),
// so servers replicated before the key existed stay on DEFAULT (aws/ebs) or another key and cannot
// be recovered in the target account. Unencrypted servers (NONE) need no key to be recovered, and
// move only when asked. A dry run unless told --apply; with --batch, a few at a time, each batch
// waited for until its servers have a point in time on the key.
import { DescribeRecoverySnapshotsCommand, DrsClient, SourceServer, UpdateReplicationConfigurationCommand } from "@aws-sdk/client-drs";
import { DescribeSnapshotsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeKeyCommand, GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import {
    PolicyDocument,
    accountRootArn,
    allowStatements,
    awsPrincipals,
    grantsAction,
    parseKeyArn,
    parsePolicyDocument,
    partitionOf,
} from "../../components/policies";
import { AwsAccess } from "../aws/access";
import { AwsCommandDeps, AwsCommandOptions, openStack } from "../aws/command";
import { answerLost, failure, isAccessDenied, MalformedAnswer, permissionIn, uncheckedOf, UnreachableAccount } from "../aws/faults";
import { Clock, Deadline, noDeadline, realClock } from "../clock";
import { Io } from "../io";
import { permissionsHelp } from "../permissions";
import {
    describeEncryption,
    hostnameOf,
    isOnKey,
    listSourceServers,
    readServerEncryption,
    replicatingHere,
    serverName,
} from "../aws/sourceServers";
import { UsageError } from "../../config/errors";
import { StagingKeyExport } from "../../program/contract";
import { plural } from "../../config/text";

/** A server the plan would move onto its entry's key. */
export interface ServerMove {
    sourceServerID: string;
    hostname?: string;
    /** Its current encryption, as GetReplicationConfiguration reported it. */
    ebsEncryption?: string;
    ebsEncryptionKeyArn?: string;
    newKeyArn: string;
}

/** An old customer managed key servers are on, and whether the target can still use its points in time. */
export interface OldKey {
    keyArn: string;
    /** Servers to move off it. */
    servers: number;
    /** Per target: the key policy statement that lets it use the key, or undefined when none does. */
    targets: { accountId: string; statement?: string }[];
    /** The policy could not be read: why. */
    notChecked?: string;
    note: string;
}

export interface KeyPlan {
    accountId: string;
    region: string;
    keyArn: string;
    /** DescribeKey's KeyState, or NotFound. */
    keyState: string;
    /** Why no server is moved onto this key (it is not Enabled). */
    refused?: string;
    /** Servers replicating into this account's staging area (servers extended from elsewhere excluded). */
    replicating: number;
    /** With --server: how many of those were named. */
    selected?: number;
    alreadyOnKey: number;
    toMove: ServerMove[];
    /** Replicating unencrypted (ebsEncryption NONE), and not moved: recoverable in the target without a key. */
    unencrypted: ServerMove[];
    /** With --batch: on the key, but their newest point in time is not on it yet (a move still resyncing). */
    resyncing: { sourceServerID: string; hostname?: string; why: string }[];
    /** Servers whose configuration could not be read (other than for lack of permission). */
    unreadable: { sourceServerID: string; hostname?: string; error: string }[];
    oldKeys: OldKey[];
}

export interface AlignmentPlan {
    keys: KeyPlan[];
    /** --server IDs that replicate into none of the staging areas. */
    unknownServers: string[];
}

export interface MoveResult {
    sourceServerID: string;
    hostname?: string;
    accountId: string;
    region: string;
    newKeyArn: string;
    status: "moved" | "skipped" | "failed";
    /** What it was on before the move, in words; for failed, the service's message. */
    message: string;
}

/** Where a run stopped, why, how much was done before it, and the command that resumes. */
export interface Stop {
    accountId: string;
    region: string;
    /** The server it stopped at, or the servers of the batch it was waiting for. */
    at: string;
    reason: "access" | "time-limit" | "interrupted";
    action?: string;
    permission?: string;
    message: string;
    moved: number;
    resume: string;
}

export interface ApplyOutcome {
    results: MoveResult[];
    /** With --batch: the servers confirmed back on continuous replication with a point in time on the key. */
    resynced?: string[];
    stopped?: Stop;
}

/** The command cannot start (arguments, outputs, config, an access error while planning): exit 2. */
export class CannotAlign extends UsageError {}

/** An access error: the run stops at it rather than fail server after server the same way. */
class AccessStop extends Error {
    constructor(readonly stop: { accountId: string; action: string; permission: string; message: string }) {
        super(stop.message);
    }
}

const credentialErrors = /^(ExpiredToken(Exception)?|UnrecognizedClientException|InvalidClientTokenId)$/;

/** Calls `body`; turns an access error (or an account with no credentials) into an AccessStop naming the permission. */
async function calling<T>(accountId: string, action: string, body: () => Promise<T>): Promise<T> {
    try {
        return await body();
    } catch (err) {
        if (err instanceof UnreachableAccount) {
            throw new AccessStop({
                accountId,
                action,
                permission: action,
                message: `${err.message}. Set roleArn for this account in the stack config, or run with its credentials.`,
            });
        }
        if (!isAccessDenied(err) && !credentialErrors.test((err as Error).name ?? "")) throw err;
        const named = permissionIn(err);
        const permission = named ?? action;
        throw new AccessStop({
            accountId,
            action,
            permission,
            message: named
                ? `the credentials for ${accountId} lack ${permission} (${failure(err)})`
                : `the credentials for ${accountId} were refused calling ${action} (${failure(err)})`,
        });
    }
}

/** Why a key in this state cannot take servers, or undefined when it is Enabled. */
function refusal(keyArn: string, state: string, deletionDate?: Date): string | undefined {
    if (state === "Enabled") return undefined;
    if (state === "NotFound") return `key ${keyArn} does not exist. Run \`pulumi refresh\` and \`pulumi up\` on the staging stack.`;
    if (state === "PendingDeletion") {
        return (
            `key ${keyArn} is scheduled for deletion on ${deletionDate?.toISOString() ?? "an unknown date"}: everything it encrypts becomes unrecoverable then. ` +
            `Cancel the deletion and enable it first (aws kms cancel-key-deletion, then aws kms enable-key).`
        );
    }
    if (state === "Disabled") return `key ${keyArn} is Disabled: DRS cannot encrypt with it. Enable it first (aws kms enable-key).`;
    return `key ${keyArn} is ${state}, not Enabled.`;
}

export interface PlanOptions {
    servers?: string[];
    /** --include-unencrypted: move NONE servers onto the key too. */
    includeUnencrypted?: boolean;
    /** --batch: also find the servers on the key that have no point in time on it yet. */
    batch?: number;
    /** The target accounts, for whether they can still use an old key's points in time. */
    targets?: string[];
    progress?: (line: string) => void;
}

/**
 * Per staging key: the key's state, the servers replicating into its staging area, how many are
 * already on it, which would move, which replicate unencrypted, the old keys they leave, and with
 * --batch which are still resyncing. Reads only. Throws CannotAlign at an access error.
 */
export async function planAlignment(keys: StagingKeyExport[], aws: AwsAccess, options: PlanOptions = {}): Promise<AlignmentPlan> {
    const wanted = options.servers && options.servers.length > 0 ? new Set(options.servers) : undefined;
    const found = new Set<string>();
    const plans: KeyPlan[] = [];
    try {
        for (const key of keys) {
            const scope = `${key.accountId}/${key.region}`;
            const kms = await calling(key.accountId, "kms:DescribeKey", () => aws.kms(key.accountId, key.region));
            let keyState = "NotFound";
            let deletionDate: Date | undefined;
            try {
                const { KeyMetadata: m } = await calling(key.accountId, "kms:DescribeKey", () =>
                    kms.send(new DescribeKeyCommand({ KeyId: key.keyArn })),
                );
                keyState = m?.KeyState ?? "unknown";
                deletionDate = m?.DeletionDate;
            } catch (err) {
                if ((err as Error).name !== "NotFoundException") throw err;
            }
            const drs = await calling(key.accountId, "drs:DescribeSourceServers", () => aws.drs(key.accountId, key.region));
            const here = replicatingHere(await calling(key.accountId, "drs:DescribeSourceServers", () => listSourceServers(drs)));
            const chosen = wanted ? here.filter((s) => wanted.has(s.sourceServerID ?? "")) : here;
            chosen.forEach((s) => found.add(s.sourceServerID ?? ""));
            options.progress?.(`Reading the replication configuration of ${chosen.length} source servers in ${scope}...`);
            const plan: KeyPlan = {
                accountId: key.accountId,
                region: key.region,
                keyArn: key.keyArn,
                keyState,
                refused: refusal(key.keyArn, keyState, deletionDate),
                replicating: here.length,
                selected: wanted ? chosen.length : undefined,
                alreadyOnKey: 0,
                toMove: [],
                unencrypted: [],
                resyncing: [],
                unreadable: [],
                oldKeys: [],
            };
            const onKey: SourceServer[] = [];
            for (const server of chosen) {
                let current;
                try {
                    current = await calling(key.accountId, "drs:GetReplicationConfiguration", () => readServerEncryption(drs, server));
                } catch (err) {
                    if (err instanceof AccessStop) throw err;
                    plan.unreadable.push({
                        sourceServerID: server.sourceServerID ?? "",
                        hostname: hostnameOf(server),
                        error: failure(err),
                    });
                    continue;
                }
                const move = { ...current, newKeyArn: key.keyArn };
                if (isOnKey(current, key.keyArn)) {
                    plan.alreadyOnKey++;
                    onKey.push(server);
                } else if (current.ebsEncryption === "NONE" && !options.includeUnencrypted) plan.unencrypted.push(move);
                else plan.toMove.push(move);
            }
            plan.oldKeys = await oldKeysOf(aws, key, plan.toMove, options.targets ?? []);
            if (options.batch && !plan.refused) {
                const ec2 = await calling(key.accountId, "ec2:DescribeSnapshots", () => aws.ec2(key.accountId, key.region));
                for (const server of onKey) {
                    const pit = await calling(key.accountId, "drs:DescribeRecoverySnapshots", () =>
                        pointInTimeOnKey(drs, ec2, key.accountId, server.sourceServerID ?? "", key.keyArn),
                    );
                    if (!pit.onKey)
                        plan.resyncing.push({ sourceServerID: server.sourceServerID ?? "", hostname: hostnameOf(server), why: pit.what });
                }
            }
            plans.push(plan);
        }
    } catch (err) {
        if (err instanceof AccessStop) throw new CannotAlign(`Could not plan: ${err.message}. Nothing was changed.`);
        const scope = keys[plans.length] ? ` ${keys[plans.length].accountId}/${keys[plans.length].region}` : "";
        throw new CannotAlign(`Could not plan${scope}: ${failure(err)}. Nothing was changed.`);
    }
    return { keys: plans, unknownServers: wanted ? [...wanted].filter((id) => !found.has(id)) : [] };
}

/**
 * The old customer managed keys of the servers to move, and for each target whether the key's policy
 * lets it use the key (kms:ReEncryptFrom, as the DRS multi-account page's statement for the target
 * does): if so, points in time taken before the move stay recoverable there while the key is kept.
 */
async function oldKeysOf(aws: AwsAccess, key: StagingKeyExport, moves: ServerMove[], targets: string[]): Promise<OldKey[]> {
    const arns = [
        ...new Set(moves.filter((m) => m.ebsEncryption === "CUSTOM" && m.ebsEncryptionKeyArn).map((m) => m.ebsEncryptionKeyArn!)),
    ];
    const found: OldKey[] = [];
    for (const keyArn of arns) {
        const servers = moves.filter((m) => m.ebsEncryptionKeyArn === keyArn).length;
        const old: OldKey = { keyArn, servers, targets: [], note: "" };
        found.push(old);
        const where = parseKeyArn(keyArn);
        const account = where?.accountId ?? key.accountId;
        let policy: PolicyDocument | undefined;
        try {
            const kms = await aws.kms(account, where?.region ?? key.region);
            const text = (await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: "default" })))?.Policy;
            policy = parsePolicyDocument(text);
            if (!policy?.Statement) throw new MalformedAnswer("kms:GetKeyPolicy", "a policy that is not a JSON policy document");
        } catch (err) {
            const unchecked = uncheckedOf(err, account, "kms:GetKeyPolicy");
            if (!unchecked) throw err;
            old.notChecked = unchecked.why;
            old.note = `whether the target can still use its points in time was not checked: ${old.notChecked}.`;
            continue;
        }
        if (targets.length === 0) {
            old.note = "no target account given: whether a target can still use its points in time was not checked.";
            continue;
        }
        const partition = partitionOf(key.region);
        old.targets = targets.map((accountId) => ({
            accountId,
            statement: allowStatements(policy).find(
                (st) =>
                    grantsAction(st, "kms:ReEncryptFrom") &&
                    awsPrincipals(st).some((p) => p === accountRootArn(partition, accountId) || p === accountId),
            )?.Sid,
        }));
        const can = old.targets
            .filter((t) => t.statement !== undefined)
            .map((t) => `${t.accountId} (${t.statement || "a statement without Sid"})`);
        const cannot = old.targets.filter((t) => t.statement === undefined).map((t) => t.accountId);
        old.note = [
            can.length > 0
                ? `its policy lets ${can.join(", ")} use it: points in time taken before the move stay recoverable there while this key is kept and enabled, ` +
                  "if the roles that recover also have an IAM allow for it (the key-use policies name only the stack's keys)."
                : "",
            cannot.length > 0
                ? `its policy does not let ${cannot.join(", ")} use it: points in time taken before the move are not recoverable there.`
                : "",
        ]
            .filter(Boolean)
            .join(" ");
    }
    return found;
}

/**
 * Whether a server's newest point in time is on the key: DRS's newest recovery snapshot, and each
 * EBS snapshot in it encrypted with the key. Until then a moved server has nothing the target can
 * recover from on the new key.
 */
async function pointInTimeOnKey(
    drs: DrsClient,
    ec2: EC2Client,
    account: string,
    sourceServerID: string,
    keyArn: string,
): Promise<{ onKey: boolean; what: string }> {
    const { items } = await drs.send(new DescribeRecoverySnapshotsCommand({ sourceServerID, order: "DESC", maxResults: 1 }));
    const newest = items?.[0];
    if (!newest) return { onKey: false, what: "no point in time yet" };
    const ids = newest.ebsSnapshots ?? [];
    if (ids.length === 0) return { onKey: false, what: `its newest point in time (${newest.timestamp ?? "?"}) lists no EBS snapshot` };
    const snapshots = (await calling(account, "ec2:DescribeSnapshots", () => ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }))))
        .Snapshots;
    const keyId = parseKeyArn(keyArn)?.keyId;
    const off = (snapshots ?? []).filter((s) => s.KmsKeyId !== keyArn && parseKeyArn(s.KmsKeyId ?? "")?.keyId !== keyId);
    if ((snapshots ?? []).length === ids.length && off.length === 0)
        return { onKey: true, what: `point in time ${newest.timestamp ?? "?"} is on the key` };
    return { onKey: false, what: `its newest point in time (${newest.timestamp ?? "?"}) is not on the key yet` };
}

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

export const caveat = [
    "Points in time taken before a move stay under the old key: keep that key until they expire.",
    "Snapshots under the AWS managed key aws/ebs can never be shared with another account.",
    "So a moved server is recoverable in the target account only from its first point in time on the new key.",
].join("\n");

/** Why moving every server at once is not the default to reach for. */
export const resyncCaveat = [
    "Until a moved server has resynced, it has no point in time on the new key: the target can recover it only from then on.",
    "Moving many servers at once resyncs them at once: bandwidth from the sources and staging storage multiply. --batch <n>",
    "moves n servers, waits until each is back on continuous replication with a point in time on the key, then the next n.",
].join("\n");

function keyHeader(key: KeyPlan): string {
    const scope = `${key.accountId}/${key.region} key ${key.keyArn}`;
    const selected = key.selected !== undefined ? ` (${key.selected} named by --server)` : "";
    const unencrypted = key.unencrypted.length > 0 ? `, ${key.unencrypted.length} unencrypted (not moved)` : "";
    return `${scope}: ${plural(key.replicating, "server")} replicate${key.replicating === 1 ? "s" : ""} here${selected}, ${key.alreadyOnKey} already on the key, ${key.toMove.length} to move${unencrypted}`;
}

/** The plan in words: with the servers for a dry run, the headers only before an --apply. */
export function formatPlan(plan: AlignmentPlan, apply: boolean): string {
    const lines = apply ? [] : ["Dry run: nothing is changed. Run again with --apply to move the servers listed.", ""];
    for (const key of plan.keys) {
        lines.push(keyHeader(key));
        if (key.refused) lines.push(`  Refused: ${key.refused} No server is moved onto it.`);
        for (const u of key.unreadable) lines.push(`  unreadable ${serverName(u)}: ${u.error}`);
        for (const r of key.resyncing) lines.push(`  resyncing ${serverName(r)}: on the key, but ${r.why}`);
        if (apply) continue;
        for (const m of key.toMove) {
            lines.push(`  ${serverName(m)}: ${describeEncryption(m)} -> ${m.newKeyArn}; a full sync may be required`);
        }
        for (const m of key.unencrypted)
            lines.push(
                `  warning: ${serverName(m)} replicates unencrypted (NONE): recoverable in the target without a key; not moved (--include-unencrypted moves it)`,
            );
        for (const old of key.oldKeys) lines.push(`  old key ${old.keyArn} (${plural(old.servers, "server")}): ${old.note}`);
    }
    return lines.join("\n");
}

export function formatResult(r: MoveResult): string {
    const what = r.status === "moved" ? `${r.message}, now on ${r.newKeyArn}; a full sync may be required` : r.message;
    return `  ${r.status.padEnd(7)} ${serverName(r)}: ${what}`;
}

/**
 * Exit code: 2 could not run (a key refused, stopped before anything moved); 1 findings (servers
 * to move in a dry run, a move that failed, a run stopped with servers left); 3 when nothing was
 * found but something could not be checked (an unreadable server, an old key's policy); 0 done.
 */
export function exitCodeOf(plan: AlignmentPlan, outcome?: ApplyOutcome): number {
    if (plan.keys.some((k) => k.refused)) return 2;
    if (outcome?.stopped) return outcome.stopped.moved === 0 && outcome.results.length === 0 && outcome.stopped.reason === "access" ? 2 : 1;
    const findings = outcome ? outcome.results.some((r) => r.status === "failed") : plan.keys.some((k) => k.toMove.length > 0);
    if (findings) return 1;
    const unchecked = plan.keys.some((k) => k.unreadable.length > 0 || k.oldKeys.some((o) => o.notChecked));
    return unchecked ? 3 : 0;
}

export interface AlignOptions extends ApplyOptions {
    apply: boolean;
    json: boolean;
    servers?: string[];
    includeUnencrypted?: boolean;
    targets?: string[];
}

export type { Io };

/** Plans, prints, and with --apply moves; returns the exit code. */
export async function alignServers(keys: StagingKeyExport[], aws: AwsAccess, options: AlignOptions, io: Io): Promise<number> {
    const progress = (line: string) => io.err(`${line}\n`);
    const plan = await planAlignment(keys, aws, {
        servers: options.servers,
        includeUnencrypted: options.includeUnencrypted,
        batch: options.batch,
        targets: options.targets,
        progress,
    });
    if (plan.unknownServers.length > 0) {
        throw new CannotAlign(
            `--server ${plan.unknownServers.join(", ")}: no such source server replicates into the stack's staging accounts (extended servers are moved in the account they replicate into). Nothing was changed.`,
        );
    }
    const toMove = plan.keys.reduce((n, k) => n + (k.refused ? 0 : k.toMove.length), 0);
    const resyncing = plan.keys.reduce((n, k) => n + k.resyncing.length, 0);
    const text = (line: string) => (options.json ? io.err(`${line}\n`) : io.out(`${line}\n`));
    if (!options.json) io.out(`${formatPlan(plan, options.apply)}\n`);
    let outcome: ApplyOutcome | undefined;
    if (options.apply && (toMove > 0 || (options.batch && resyncing > 0))) {
        text(`\nMoving ${plural(toMove, "server")}${options.batch ? `, ${options.batch} at a time` : ""}:`);
        outcome = await applyAlignment(plan, aws, (r) => text(formatResult(r)), { ...options, progress });
        const { results } = outcome;
        const count = (s: MoveResult["status"]) => results.filter((r) => r.status === s).length;
        text(`\n${count("moved")} moved, ${count("skipped")} skipped (already on the key), ${count("failed")} failed.`);
        if (outcome.resynced) text(`${plural(outcome.resynced.length, "server")} confirmed with a point in time on the key.`);
        if (outcome.stopped) {
            const { permission, accountId, region, at, message, moved, resume } = outcome.stopped;
            const grant = permission ? `Grant ${permission} in ${accountId}, then resume: ` : "Resume: ";
            io.err(
                `error: stopped at ${at} in ${accountId}/${region}: ${message}. ${plural(moved, "server was", "servers were")} moved before it. ` +
                    `${grant}${resume}${options.batch ? ` --batch ${options.batch}` : ""} (servers already on the key are skipped${options.batch ? "; those still resyncing are waited for first" : ""}).\n`,
            );
        } else if (count("failed") > 0) {
            text("Run again to retry the failed servers: servers already on the key are skipped.");
        }
    } else if (!options.apply && toMove > 0) {
        text(`\n${plural(toMove, "server")} to move. Run again with --apply to move them.`);
    } else if (toMove === 0 && !plan.keys.some((k) => k.refused || k.unreadable.length > 0)) {
        text("\nNothing to move: every server is on its entry's key.");
    }
    const unreadable = plan.keys.reduce((n, k) => n + k.unreadable.length, 0);
    if (unreadable > 0)
        text(
            `${plural(unreadable, "server")} could not be read (listed above) and ${unreadable === 1 ? "is" : "are"} not moved: run again once readable.`,
        );
    const unencrypted = plan.keys.reduce((n, k) => n + k.unencrypted.length, 0);
    if (unencrypted > 0)
        text(
            `\n${plural(unencrypted, "server")} replicate${unencrypted === 1 ? "s" : ""} unencrypted (ebsEncryption NONE): recoverable in the target without a key, ` +
                "but not encrypted at rest. --include-unencrypted moves them onto the key too.",
        );
    if (toMove > 0) text(`\n${caveat}\n\n${resyncCaveat}`);
    const exitCode = exitCodeOf(plan, outcome);
    if (options.json) {
        const doc = { mode: options.apply ? "apply" : "dry-run", plan, ...(outcome ?? {}), exitCode };
        io.out(`${JSON.stringify(doc, null, 2)}\n`);
    }
    return exitCode;
}

/** What `align-servers --help` says after the options. */
export function alignServersHelp(): string {
    return [
        "Moves every source server that replicates into a staging account onto that account's staging key",
        "(ebsEncryption CUSTOM with the stack's key). The replication template is only the default for servers",
        "added later: servers replicated before the key existed stay on DEFAULT (aws/ebs) or another key, and",
        "cannot be recovered in the target account. A server on NONE (unencrypted) can be recovered there",
        "without a key: it is reported, and moved only with --include-unencrypted.",
        "",
        "A dry run by default: prints, per staging key, the servers it would move, and changes nothing. With",
        "--apply it makes the change, server by server, printing each result. --server limits it to the",
        "servers named: to move one server first. The stack's outputs and config are read as verify reads",
        "them: from the stack with the Pulumi CLI installed, or from --outputs and the stack file.",
        "",
        "Examples:",
        "  npm run -s align-servers -- -s staging",
        "  pulumi stack output --json --stack staging > outputs.json",
        "  npm run -s align-servers -- -s staging --outputs outputs.json --server s-1234567890abcdef0 --apply",
        "  npm run -s align-servers -- -s staging --outputs outputs.json --apply --batch 10",
        "  npm run -s align-servers -- -s staging --outputs outputs.json --apply --json",
        "  npm run -s align-servers -- --print-policy staging > align-servers-policy.json",
        "",
        "It never touches a server already on the key, never changes any other replication setting (it sends",
        "only sourceServerID, ebsEncryption CUSTOM and ebsEncryptionKeyArn, once: a lost answer is re-read,",
        "never resent), and never changes the replication template. It refuses a key that is not Enabled. It",
        "re-reads each server before changing it, so after a partial failure run it again: only the servers",
        "still off the key are moved. A run that stops (an access error, --time-limit, Ctrl-C) names the server",
        "it stopped at and the command that resumes.",
        "",
        "For a server on another customer managed key, it reads that key's policy and says whether the target",
        "can still use the points in time taken before the move.",
        "",
        "A move may require a full sync.",
        caveat,
        resyncCaveat,
        "",
        ...permissionsHelp("align-servers"),
        "",
        "In the exit codes, 1 also covers a run stopped with servers left to move; 3 an unreadable server or an",
        "old key's policy that could not be read; 2 a key that is not Enabled and a stop before anything moved.",
    ].join("\n");
}

/** The command as the CLI runs it: reads the stack like verify, checks the credentials once, then alignServers. */
export async function alignServersCommand(
    options: AwsCommandOptions & { apply: boolean; servers?: string[]; includeUnencrypted?: boolean; batch?: number },
    deps: AwsCommandDeps & { signal?: AbortSignal; pollMs?: number },
): Promise<number> {
    // Resyncs take hours: with --batch the default limit is a day.
    const timeLimitMinutes = options.timeLimitMinutes ?? (options.batch ? 24 * 60 : undefined);
    const { stack, keys, io, access, deadline, clock } = await openStack("align-servers", { ...options, timeLimitMinutes }, deps);
    const targets = Array.isArray(stack.outputs.targetAccountIds)
        ? (stack.outputs.targetAccountIds as string[])
        : [String(stack.outputs.targetAccountId ?? stack.settings.target.accountId)];
    const resume = [
        "npm run -s align-servers --",
        `-s ${options.stack}`,
        options.outputsFile ? `--outputs ${options.outputsFile === "-" ? "<outputs file>" : options.outputsFile}` : "",
        options.configFile ? `--config-file ${options.configFile}` : "",
        options.includeUnencrypted ? "--include-unencrypted" : "",
        "--apply",
    ]
        .filter(Boolean)
        .join(" ");
    return alignServers(
        keys,
        access,
        {
            apply: options.apply,
            json: options.json,
            servers: options.servers,
            includeUnencrypted: options.includeUnencrypted,
            batch: options.batch,
            targets,
            deadline,
            clock,
            signal: deps.signal,
            pollMs: deps.pollMs,
            resume,
        },
        io,
    );
}
