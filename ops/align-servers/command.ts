// The align-servers command: plan, print, and with --apply move (alignServers); its --help; and
// the command as the CLI runs it, reading the stack like verify. A dry run unless told --apply;
// unencrypted (NONE) servers need no key to be recovered, so they move only when asked.
import { AwsAccess } from "../aws/access";
import { AwsCommandDeps, AwsCommandOptions, openStack, resumeCommand } from "../aws/command";
import { Io } from "../io";
import { permissionsHelp } from "../permissions";
import { plural } from "../../config/text";
import { StagingKeyExport } from "../../program/contract";
import { ApplyOptions, applyAlignment } from "./apply";
import { planAlignment } from "./plan";
import { caveat, exitCodeOf, formatPlan, formatResult, resyncCaveat } from "./report";
import { ApplyOutcome, CannotAlign, MoveResult } from "./types";

export interface AlignOptions extends ApplyOptions {
    apply: boolean;
    json: boolean;
    servers?: string[];
    includeUnencrypted?: boolean;
    targets?: string[];
}

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
    const resume = resumeCommand("align-servers", options, [options.includeUnencrypted && "--include-unencrypted"]);
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
