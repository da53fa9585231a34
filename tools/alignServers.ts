// align-servers: brings each source server replicating into a staging account onto that entry's
// staging key. The replication template is only the default for servers added later; every server
// keeps its own replication configuration (docs/aws-requirements.md, "Per-server replication settings"),
// so servers replicated before the key existed stay on DEFAULT (aws/ebs) or another key and cannot
// be recovered in the target account. A dry run unless told --apply.
import { DrsClient, SourceServer, UpdateReplicationConfigurationCommand } from "@aws-sdk/client-drs";
import { DescribeKeyCommand } from "@aws-sdk/client-kms";
import { StagingKeyExport } from "../config";
import { AwsAccess, UnreachableAccount } from "./awsAccess";
import { describeEncryption, hostnameOf, isOnKey, listSourceServers, readServerEncryption, replicatingHere } from "./sourceServers";
import { AwsCommandDeps, AwsCommandOptions, openStack } from "./awsCommand";
import { Io } from "./io";
import { UsageError } from "./stackFiles";

/** The IAM actions the command calls in each staging account: the help text lists exactly these. */
export const permissions = {
    plan: ["drs:DescribeSourceServers", "drs:GetReplicationConfiguration", "kms:DescribeKey"],
    apply: ["drs:UpdateReplicationConfiguration"],
};

/** A server the plan would move onto its entry's key. */
export interface ServerMove {
    sourceServerID: string;
    hostname?: string;
    /** Its current encryption, as GetReplicationConfiguration reported it. */
    ebsEncryption?: string;
    ebsEncryptionKeyArn?: string;
    newKeyArn: string;
}

export interface KeyPlan {
    accountId: string;
    region: string;
    keyArn: string;
    /** DescribeKey's KeyState, or NotFound. */
    keyState: string;
    /** Why no server is moved onto this key (it is not Enabled). */
    refused?: string;
    /** Servers replicating into this account's staging area (extended servers excluded). */
    replicating: number;
    /** With --server: how many of those were named. */
    selected?: number;
    alreadyOnKey: number;
    toMove: ServerMove[];
    /** Servers whose configuration could not be read (other than for lack of permission). */
    unreadable: { sourceServerID: string; hostname?: string; error: string }[];
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

/** What stopped a run: an access error, naming the permission, and how much was done before it. */
export interface Stop {
    accountId: string;
    action: string;
    permission: string;
    message: string;
    moved: number;
}

export interface ApplyOutcome {
    results: MoveResult[];
    stopped?: Stop;
}

/** The command cannot start (arguments, outputs, config, an access error while planning): exit 2. */
export class CannotAlign extends UsageError {}

/** An access error: the run stops at it rather than fail server after server the same way. */
class AccessStop extends Error {
    constructor(readonly stop: Omit<Stop, "moved">) {
        super(stop.message);
    }
}

const accessErrorNames =
    /^(AccessDenied(Exception)?|Unauthorized(Operation|Exception)?|ExpiredToken(Exception)?|UnrecognizedClientException|InvalidClientTokenId)$/;

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
        const { name = "Error", message = "" } = err as Error;
        if (!accessErrorNames.test(name)) throw err;
        const named = /not authorized to perform: ([\w-]+:[\w*]+)/.exec(message)?.[1];
        const permission = named ?? action;
        throw new AccessStop({
            accountId,
            action,
            permission,
            message: named
                ? `the credentials for ${accountId} lack ${permission} (${name}: ${message})`
                : `the credentials for ${accountId} were refused calling ${action} (${name}: ${message})`,
        });
    }
}

const failure = (err: unknown) => `${(err as Error).name ?? "Error"}: ${(err as Error).message}`;

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

/**
 * Per staging key: the key's state, the servers replicating into its staging area, how many are
 * already on it, and which would move. Reads only. Throws CannotAlign at an access error.
 */
export async function planAlignment(
    keys: StagingKeyExport[],
    aws: AwsAccess,
    options: { servers?: string[]; progress?: (line: string) => void } = {},
): Promise<AlignmentPlan> {
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
                unreadable: [],
            };
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
                if (isOnKey(current, key.keyArn)) plan.alreadyOnKey++;
                else plan.toMove.push({ ...current, newKeyArn: key.keyArn });
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
 * Moves the plan's servers onto their keys, server by server, reporting each result as it happens.
 * Re-reads each server first and skips it when it is on the key already (safe to re-run); sends
 * only sourceServerID, ebsEncryption and ebsEncryptionKeyArn. Stops at the first access error;
 * other errors fail that server and the run goes on.
 */
export async function applyAlignment(plan: AlignmentPlan, aws: AwsAccess, report: (result: MoveResult) => void): Promise<ApplyOutcome> {
    const results: MoveResult[] = [];
    const record = (result: MoveResult) => {
        results.push(result);
        report(result);
    };
    try {
        for (const key of plan.keys) {
            if (key.refused || key.toMove.length === 0) continue;
            const drs = await calling(key.accountId, "drs:UpdateReplicationConfiguration", () => aws.drs(key.accountId, key.region));
            for (const move of key.toMove) record(await moveServer(drs, key, move));
        }
    } catch (err) {
        if (!(err instanceof AccessStop)) throw err;
        return { results, stopped: { ...err.stop, moved: results.filter((r) => r.status === "moved").length } };
    }
    return { results };
}

async function moveServer(drs: DrsClient, key: KeyPlan, move: ServerMove): Promise<MoveResult> {
    const result = { sourceServerID: move.sourceServerID, hostname: move.hostname, accountId: key.accountId, region: key.region };
    const newKeyArn = key.keyArn;
    const server: SourceServer = { sourceServerID: move.sourceServerID };
    try {
        // The plan may be stale (another run, the console): touch nothing that needs no change.
        const now = await calling(key.accountId, "drs:GetReplicationConfiguration", () => readServerEncryption(drs, server));
        if (isOnKey(now, newKeyArn)) return { ...result, newKeyArn, status: "skipped", message: "already on the key" };
        // Only these three fields: any other field would overwrite that server's own settings.
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
        return { ...result, newKeyArn, status: "failed", message: failure(err) };
    }
}

const serverName = (s: { sourceServerID: string; hostname?: string }) => `${s.sourceServerID}${s.hostname ? ` (${s.hostname})` : ""}`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export const caveat = [
    "Points in time taken before a move stay under the old key: keep that key until they expire.",
    "Snapshots under the AWS managed key aws/ebs can never be shared with another account.",
    "So a moved server is recoverable in the target account only from its first point in time on the new key.",
].join("\n");

function keyHeader(key: KeyPlan): string {
    const scope = `${key.accountId}/${key.region} key ${key.keyArn}`;
    const selected = key.selected !== undefined ? ` (${key.selected} named by --server)` : "";
    return `${scope}: ${plural(key.replicating, "server")} replicate${key.replicating === 1 ? "s" : ""} here${selected}, ${key.alreadyOnKey} already on the key, ${key.toMove.length} to move`;
}

/** The plan in words: with the servers for a dry run, the headers only before an --apply. */
export function formatPlan(plan: AlignmentPlan, apply: boolean): string {
    const lines = apply ? [] : ["Dry run: nothing is changed. Run again with --apply to move the servers listed.", ""];
    for (const key of plan.keys) {
        lines.push(keyHeader(key));
        if (key.refused) lines.push(`  Refused: ${key.refused} No server is moved onto it.`);
        for (const u of key.unreadable) lines.push(`  unreadable ${serverName(u)}: ${u.error}`);
        if (apply) continue;
        for (const m of key.toMove) {
            lines.push(`  ${serverName(m)}: ${describeEncryption(m)} -> ${m.newKeyArn}; a full sync may be required`);
        }
    }
    return lines.join("\n");
}

export function formatResult(r: MoveResult): string {
    const what = r.status === "moved" ? `${r.message}, now on ${r.newKeyArn}; a full sync may be required` : r.message;
    return `  ${r.status.padEnd(7)} ${serverName(r)}: ${what}`;
}

/** Exit code: 2 could not run (stopped, key refused), 1 findings (servers to move in a dry run, failures), 0 done. */
export function exitCodeOf(plan: AlignmentPlan, outcome?: ApplyOutcome): number {
    if (outcome?.stopped || plan.keys.some((k) => k.refused)) return 2;
    if (plan.keys.some((k) => k.unreadable.length > 0)) return 1;
    if (outcome) return outcome.results.some((r) => r.status === "failed") ? 1 : 0;
    return plan.keys.some((k) => k.toMove.length > 0) ? 1 : 0;
}

export interface AlignOptions {
    apply: boolean;
    json: boolean;
    servers?: string[];
}

export type { Io };

/** Plans, prints, and with --apply moves; returns the exit code. */
export async function alignServers(keys: StagingKeyExport[], aws: AwsAccess, options: AlignOptions, io: Io): Promise<number> {
    const plan = await planAlignment(keys, aws, { servers: options.servers, progress: (line) => io.err(`${line}\n`) });
    if (plan.unknownServers.length > 0) {
        throw new CannotAlign(
            `--server ${plan.unknownServers.join(", ")}: no such source server replicates into the stack's staging accounts (extended servers are moved in the account they replicate into). Nothing was changed.`,
        );
    }
    const toMove = plan.keys.reduce((n, k) => n + (k.refused ? 0 : k.toMove.length), 0);
    const text = (line: string) => (options.json ? io.err(`${line}\n`) : io.out(`${line}\n`));
    if (!options.json) io.out(`${formatPlan(plan, options.apply)}\n`);
    let outcome: ApplyOutcome | undefined;
    if (options.apply && toMove > 0) {
        text(`\nMoving ${plural(toMove, "server")}:`);
        outcome = await applyAlignment(plan, aws, (r) => text(formatResult(r)));
        const { results } = outcome;
        const count = (s: MoveResult["status"]) => results.filter((r) => r.status === s).length;
        text(`\n${count("moved")} moved, ${count("skipped")} skipped (already on the key), ${count("failed")} failed.`);
        if (outcome.stopped) {
            const { permission, accountId, message, moved } = outcome.stopped;
            io.err(
                `error: stopped: ${message}. ${plural(moved, "server was", "servers were")} moved before it. ` +
                    `Grant ${permission} in ${accountId} and run again: servers already on the key are skipped.\n`,
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
    if (toMove > 0) text(`\n${caveat}`);
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
        "cannot be recovered in the target account.",
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
        "  npm run -s align-servers -- -s staging --outputs outputs.json --apply --json",
        "",
        "It never touches a server already on the key, never changes any other replication setting (it sends",
        "only sourceServerID, ebsEncryption CUSTOM and ebsEncryptionKeyArn), and never changes the replication",
        "template. It refuses a key that is not Enabled. It re-reads each server before changing it, so after a",
        "partial failure run it again: only the servers still off the key are moved.",
        "",
        "A move may require a full sync.",
        caveat,
        "",
        "Permissions, in each staging account (with its roleArn from the stack config, or the current credentials):",
        `  always (plan):  ${permissions.plan.join(", ")}`,
        `  --apply:        ${permissions.apply.join(", ")}`,
        "and, for the credentials you run with, sts:AssumeRole on each roleArn the config names.",
        "",
        "In the exit codes, 2 also covers an access error that stopped the run and a key that is not Enabled.",
    ].join("\n");
}

/** The command as the CLI runs it: reads the stack like verify, checks the credentials once, then alignServers. */
export async function alignServersCommand(
    options: AwsCommandOptions & { apply: boolean; servers?: string[] },
    deps: AwsCommandDeps,
): Promise<number> {
    const { keys, io, access } = await openStack("align-servers", options, deps);
    return alignServers(keys, access, { apply: options.apply, json: options.json, servers: options.servers }, io);
}
