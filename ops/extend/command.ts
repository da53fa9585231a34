// The extend command: plan, print, and with --apply create the extended servers (extend); its
// --help; and the command as the CLI runs it, on the target stack (or a deploy: all stack), with
// --staging-role for staging accounts its config names no role for. A dry run unless told --apply.
import { programTags } from "../../components/defaults";
import { plural } from "../../config/text";
import { StagingKeyExport } from "../../program/contract";
import { AwsAccess } from "../aws/access";
import { AwsCommandDeps, AwsCommandOptions, openStack, resumeCommand, stagingRolesOf, withStagingRoles } from "../aws/command";
import { firstFew } from "../aws/sourceServers";
import { Io, interruptible } from "../io";
import { permissionsHelp } from "../permissions";
import { ApplyOptions, applyExtension, defaultBatch, defaultBatchWaitMs } from "./apply";
import { serverIdOfArn } from "./calls";
import { planExtension } from "./plan";
import { exitCodeOf, formatPlan, formatResult, summaryOf } from "./report";
import { ApplyOutcome, CannotExtend, ExtendPlan } from "./types";

/**
 * The tag that says which tool created an extended server. Not `ManagedBy: pulumi`: nothing in
 * Pulumi's state holds it, and a clean-up of "ManagedBy=pulumi but not in state" would delete it.
 */
export const extendedByTag = { ManagedBy: "drs-cross-account-kms extend" };

/** The tags of each extended server: the stack's Project and config tags, and ManagedBy saying extend made it. */
export const extendTags = (tags: Record<string, string> = {}): Record<string, string> => ({
    Project: programTags.Project,
    ...tags,
    ...extendedByTag,
});

/** What extend works on: the target, the staging keys that serve it, and what the stack's config says of them. */
export interface ExtendInput {
    targetAccountId: string;
    keys: StagingKeyExport[];
    tags: Record<string, string>;
    /** target.unprotectedServers: never extended. */
    leftOut?: { sourceServerId: string; reason: string }[];
    /** The staging stack align-servers runs on (for servers on the default key). */
    stagingStack?: string;
}

export interface ExtendOptions extends ApplyOptions {
    apply: boolean;
    json: boolean;
    /** --server: staging server IDs. */
    servers?: string[];
}

/** Plans, prints, and with --apply extends; returns the exit code. */
export async function extend(input: ExtendInput, aws: AwsAccess, options: ExtendOptions, io: Io): Promise<number> {
    const progress = (line: string) => io.err(`${line}\n`);
    const target = input.targetAccountId;
    const plan = await planExtension(input.keys, target, input.tags, aws, {
        servers: options.servers,
        leftOut: input.leftOut,
        stagingStack: input.stagingStack,
        progress,
    });
    if (plan.unknownServers.length > 0) {
        const unread = plan.keys.filter((k) => k.targetUnread || k.stagingUnread).map((k) => `${k.stagingAccountId}/${k.region}`);
        throw new CannotExtend(
            `--server ${plan.unknownServers.join(", ")}: in no staging account's list for ${target} (neither extensible into it, extended there, nor replicating in a staging account of the stack)` +
                (unread.length > 0 ? `; the lists of ${unread.join(", ")} could not all be read` : "") +
                ". Nothing was changed.",
        );
    }
    const toExtend = plan.keys.reduce((n, k) => n + (k.targetUnread ? 0 : k.toExtend.length), 0);
    const notExtendable = plan.keys.reduce((n, k) => n + k.cannotExtend.length, 0);
    const text = (line: string) => (options.json ? io.err(`${line}\n`) : io.out(`${line}\n`));
    if (!options.json) io.out(`${formatPlan(plan, options.apply)}\n`);
    let outcome: ApplyOutcome | undefined;
    if (options.apply && toExtend > 0) {
        const batch = options.batch ?? defaultBatch;
        text(`\nExtending ${plural(toExtend, "server")} into ${target}, ${batch} at a time:`);
        outcome = await applyExtension(plan, aws, (r) => text(formatResult(r)), { ...options, stagingStack: input.stagingStack, progress });
        text(`\n${summaryOf(outcome.results)}`);
        if (outcome.stopped) {
            const { permission, accountId, stagingAccountId, region, at, message, extended, extendedServers, left, resume } =
                outcome.stopped;
            const made = extendedServers.map((s) => `${s.sourceServerID} as ${s.extendedServerID}`);
            const grant = permission ? `Grant ${permission} in ${accountId}, then resume: ` : "Resume: ";
            io.err(
                `error: stopped at ${at} in ${stagingAccountId}/${region}: ${message}. ` +
                    `${plural(extended, "server was", "servers were")} extended before it${made.length > 0 ? ` (${firstFew(made)})` : ""}; ${plural(left, "server")} left. ` +
                    `${grant}${resume} (servers already extended are skipped).\n`,
            );
        } else if (outcome.results.some((r) => r.status === "failed")) {
            text("Run again to retry the failed servers: servers already extended are skipped.");
        }
    } else if (!options.apply && toExtend > 0) {
        text(
            `\n${plural(toExtend, "server")} to extend. Run again with --apply to extend them (${options.batch ?? defaultBatch} at a time; --batch).`,
        );
    } else if (toExtend === 0 && notExtendable === 0 && !plan.keys.some((k) => k.targetUnread)) {
        text(
            `\nNothing to extend: every server DRS lists is extended into ${target}${plan.keys.some((k) => k.leftOut.length) ? " or left out on purpose" : ""}.`,
        );
    }
    if (notExtendable > 0)
        text(
            `${plural(notExtendable, "server is", "servers are")} not extended (listed above): ${target} cannot recover ${notExtendable === 1 ? "it" : "them"} until ${notExtendable === 1 ? "it is" : "they are"}.`,
        );
    if (plan.keys.some((k) => k.stagingUnread && k.toExtend.length > 0))
        text(
            "Some servers were planned without their staging account: DRS refuses those on the default EBS key, and does not say whether they replicate.",
        );
    const exitCode = exitCodeOf(plan, outcome);
    if (options.json) io.out(`${JSON.stringify(jsonDocument(plan, options.apply, outcome, exitCode), null, 2)}\n`);
    return exitCode;
}

/** --json: one document, the same keys whatever happened. */
function jsonDocument(plan: ExtendPlan, apply: boolean, outcome: ApplyOutcome | undefined, exitCode: number) {
    return { mode: apply ? "apply" : "dry-run", plan, results: outcome?.results ?? [], stopped: outcome?.stopped ?? null, exitCode };
}

/** What `extend --help` says after the options. */
export function extendHelp(): string {
    return [
        "Extends the source servers replicating into each staging account into the target account: DRS",
        "recovers a staging account's server in the target only once it is extended there (an extended source",
        "server in the target, pointing at the staging server). Until then the target cannot recover it.",
        "",
        "Run it on the target stack (or a deploy: all stack). A dry run by default: per staging account and",
        "Region, the servers DRS lists as extensible into the target, how many are extended already, which",
        "cannot be extended (on the default EBS key: move them with align-servers first; not replicating:",
        "extend them once they replicate again), and which would be. With --apply it creates the extended",
        "servers in batches (--batch, default 10): a batch, then each read back until DRS shows it EXTENDED",
        "(or EXTENSION_ERROR, with DRS's message), then the next.",
        "",
        "Reading the staging side (each server's replication state and EBS encryption) needs credentials in",
        "the staging account: a target stack's config usually names none, so give --staging-role. Without",
        "them the plan comes from the target side alone, says so, and DRS refuses what it refuses.",
        "",
        "Examples:",
        "  npm run -s extend -- -s target --staging-role arn:aws:iam::444455556666:role/DrsReadOnly",
        "  pulumi stack output --json --stack target > outputs.json",
        "  npm run -s extend -- -s target --outputs outputs.json --server s-0123456789abcdef0 --apply",
        "  npm run -s extend -- -s target --outputs outputs.json --apply --batch 20",
        "  npm run -s extend -- -s target --outputs outputs.json --apply --json",
        "  npm run -s extend -- --print-policy target > extend-policy.json",
        "",
        "Each CreateExtendedSourceServer is sent once, with the staging server's ARN and the stack's default",
        "tags (Project, the config's tags) and ManagedBy: drs-cross-account-kms extend; the staging server's own tags are not",
        "copied. A lost answer is looked for in the target, never resent. Before each batch the target is",
        "re-read and servers already extended are skipped, so after a partial run, run it again. A run that",
        "stops (an access error, DRS throttling, --time-limit, Ctrl-C) says what it extended before and the",
        "command that resumes. Servers in target.unprotectedServers are never extended.",
        "",
        "An EC2 source with Marketplace licences from another account is extended only when that account has",
        "DRS's Failback and in-AWS right-sizing roles for the staging account (DRSCrossAccountReplicationRole_,",
        "DRSCrossAccountAgentRole_ and DRSCrossAccountAgentAuthorizedRole_<staging account>): when DRS refuses",
        "one, its message is printed with the roles to create.",
        "",
        ...permissionsHelp("extend"),
        "",
        "In the exit codes, 1 also covers servers that cannot be extended and a run stopped with servers left;",
        "3 a target side that could not be read, servers extended without their staging side read, and",
        "servers created but not yet seen EXTENDED; 2 an access error before anything was extended.",
    ].join("\n");
}

export interface ExtendCommandOptions extends AwsCommandOptions {
    apply: boolean;
    servers?: string[];
    batch?: number;
    stagingRoles?: string[];
    /** --target: the target account, in a stack of several targets (default: the first). */
    target?: string;
}

/** --server values as staging server IDs: an ID (s- and 17 characters) or its ARN; anything else is a CannotExtend. */
export function serverIdsOf(given: string[] = []): string[] {
    return given.map((value) => {
        const id = /^s-[0-9a-zA-Z]{17}$/.test(value) ? value : value.startsWith("arn:") ? serverIdOfArn(value) : undefined;
        if (!id) throw new CannotExtend(`--server ${value}: not a source server ID (s- and 17 characters) or a source server ARN.`);
        return id;
    });
}

/**
 * The command as the CLI runs it: reads the stack like verify, picks the target (--target, or the
 * stack's first), checks the credentials once, then extend. Ctrl-C stops before the next create,
 * with what was done; a second one exits at once.
 */
export async function extendCommand(
    options: ExtendCommandOptions,
    deps: AwsCommandDeps & { signal?: AbortSignal; pollMs?: number; batchWaitMs?: number },
): Promise<number> {
    const servers = serverIdsOf(options.servers);
    const stagingRoles = stagingRolesOf(options.stagingRoles, (m) => new CannotExtend(m));
    const factory = withStagingRoles(stagingRoles, deps.access);
    let input: ExtendInput | undefined;
    const { io, access, deadline, clock } = await openStack("extend", options, { ...deps, access: factory }, (stack, keys) => {
        const { settings, outputs } = stack;
        if (settings.deploy === "staging")
            throw new CannotExtend(
                `stack ${options.stack} deploys the staging side only: run extend on the target stack (or a deploy: all stack). ` +
                    "Give roles for the staging accounts with --staging-role.",
            );
        const ids = Array.isArray(outputs.targetAccountIds)
            ? (outputs.targetAccountIds as string[])
            : [String(outputs.targetAccountId ?? settings.target.accountId)];
        const target = options.target ?? ids[0];
        if (!ids.includes(target))
            throw new CannotExtend(`--target ${target}: not a target of stack ${options.stack} (${ids.join(", ")}).`);
        const served = keys.filter((k) => !k.targetAccountIds || k.targetAccountIds.includes(target));
        if (served.length === 0) throw new CannotExtend(`stack ${options.stack} has no staging key that serves ${target}.`);
        for (const account of stagingRoles.keys()) {
            if (account === target)
                throw new CannotExtend(`--staging-role for ${account}: that is the target account (its role is target.roleArn).`);
            if (!served.some((k) => k.accountId === account))
                throw new CannotExtend(
                    `--staging-role for ${account}: not a staging account of the stack (${[...new Set(served.map((k) => k.accountId))].join(", ")}).`,
                );
        }
        const one = settings.stagingStacks.length === 1 ? settings.stagingStacks[0].split("/").pop() : undefined;
        input = {
            targetAccountId: target,
            keys: served,
            tags: extendTags(settings.tags),
            leftOut: settings.targets.find((t) => t.accountId === target)?.unprotectedServers ?? [],
            stagingStack: settings.deploy === "all" ? options.stack : one,
        };
        if (ids.length > 1 && options.target === undefined)
            io.err(
                `note: stack ${options.stack} recovers into ${ids.length} targets: extending into ${target} (--target picks another).\n`,
            );
    });
    const resume = resumeCommand(
        "extend",
        options,
        [
            options.target && `--target ${options.target}`,
            ...(options.stagingRoles ?? []).map((r) => `--staging-role ${r}`),
            ...servers.map((s) => `--server ${s}`),
        ],
        [options.batch !== undefined && `--batch ${options.batch}`],
    );
    const words = {
        first: "stopping before the next create",
        second: () => `Stopped at once: what was created is in the target. Resume: ${resume}`,
    };
    return interruptible(io, !deps.signal && options.apply, words, deps.signal, (signal) =>
        extend(
            input!,
            access,
            {
                apply: options.apply,
                json: options.json,
                servers,
                batch: options.batch,
                deadline,
                clock,
                signal,
                pollMs: deps.pollMs,
                batchWaitMs: deps.batchWaitMs ?? defaultBatchWaitMs,
                resume,
            },
            io,
        ),
    );
}
