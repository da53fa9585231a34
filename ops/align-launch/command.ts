// The align-launch command: plan, print, and with --apply update (alignLaunch); its --help; and the
// command as the CLI runs it, reading the stack like verify. A dry run unless told --apply.
import { plural } from "../../config/text";
import { AwsAccess } from "../aws/access";
import { AwsCommandDeps, AwsCommandOptions, openStack, resumeCommand } from "../aws/command";
import { Deadline } from "../clock";
import { Io } from "../io";
import { permissionsHelp } from "../permissions";
import { applyLaunch } from "./apply";
import { planLaunch } from "./plan";
import { exitCodeOf, formatPlan, formatResult, untouched } from "./report";
import { ApplyOutcome, CannotAlignLaunch, LaunchEntries } from "./types";

export interface AlignLaunchOptions {
    apply: boolean;
    json: boolean;
    servers?: string[];
    deadline?: Deadline;
    resume?: string;
}

const noLaunchSettings =
    "The stack sets no launch settings (target.launch): every server keeps its own launch configuration, and there is nothing to align. " +
    "Set target.launch, one entry per recovery Region (docs/configuration.md, launch settings), to give them the stack's.";

/** Plans, prints, and with --apply updates; returns the exit code. */
export async function alignLaunch(
    targetAccountId: string,
    entries: LaunchEntries,
    aws: AwsAccess,
    options: AlignLaunchOptions,
    io: Io,
): Promise<number> {
    const text = (line: string) => (options.json ? io.err(`${line}\n`) : io.out(`${line}\n`));
    if (entries.length === 0) {
        text(noLaunchSettings);
        if (options.json) io.out(`${JSON.stringify({ mode: options.apply ? "apply" : "dry-run", plan: null, exitCode: 0 }, null, 2)}\n`);
        return 0;
    }
    const plan = await planLaunch(targetAccountId, entries, aws, { servers: options.servers, progress: (l) => io.err(`${l}\n`) });
    if (plan.unknownServers.length > 0)
        throw new CannotAlignLaunch(
            `--server ${plan.unknownServers.join(", ")}: no server extended into ${targetAccountId} in the Regions of target.launch has this ID (the extended server's, or its staging server's). Nothing was changed.`,
        );
    const toChange = plan.regions.reduce((n, r) => n + r.toChange.length, 0);
    if (!options.json) io.out(`${formatPlan(plan, options.apply)}\n`);
    let outcome: ApplyOutcome | undefined;
    if (options.apply && toChange > 0) {
        text(`\nUpdating ${plural(toChange, "server")}:`);
        outcome = await applyLaunch(plan, aws, (r) => text(formatResult(r)), { deadline: options.deadline, resume: options.resume });
        const count = (s: string) => outcome!.results.filter((r) => r.status === s).length;
        text(`\n${count("changed")} changed, ${count("skipped")} skipped (aligned already), ${count("failed")} failed.`);
        if (outcome.stopped) {
            const { permission, region, at, message, changed, resume } = outcome.stopped;
            io.err(
                `error: stopped at ${at} in ${targetAccountId}/${region}: ${message}. ${plural(changed, "server was", "servers were")} updated before it. ` +
                    `${permission ? `Grant ${permission} in ${targetAccountId}, then resume: ` : "Resume: "}${resume} (servers aligned already are skipped).\n`,
            );
        } else if (count("failed") > 0) text("Run again to retry the failed servers: servers aligned already are skipped.");
    } else if (!options.apply && toChange > 0) {
        text(`\n${plural(toChange, "server")} to update. Run again with --apply to update them.`);
    } else if (toChange === 0 && !plan.regions.some((r) => r.unreadable.length > 0)) {
        text("\nNothing to update: every extended server has the stack's launch settings.");
    }
    const unreadable = plan.regions.reduce((n, r) => n + r.unreadable.length, 0);
    if (unreadable > 0)
        text(`${plural(unreadable, "server")} could not be read (listed above) and ${unreadable === 1 ? "is" : "are"} not updated.`);
    const exitCode = exitCodeOf(plan, outcome);
    if (options.json)
        io.out(`${JSON.stringify({ mode: options.apply ? "apply" : "dry-run", plan, ...(outcome ?? {}), exitCode }, null, 2)}\n`);
    return exitCode;
}

/** What `align-launch --help` says after the options. */
export function alignLaunchHelp(): string {
    return [
        "Brings the launch configuration of each server extended into the target in line with the stack's",
        "launch settings (target.launch). The launch template is only the default for servers extended later:",
        "a server extended before it existed keeps its own launch configuration. Only the fields the stack",
        "sets are compared and sent (copyPrivateIp, copyTags, launchDisposition, osByol, postLaunchEnabled,",
        "targetInstanceTypeRightSizingMethod): a setting left out means DRS's default, and is never changed.",
        "",
        "A dry run by default: prints, per Region, the servers whose fields differ, and changes nothing. With",
        "--apply it re-reads each server and sends one UpdateLaunchConfiguration with only the fields that",
        "still differ, once (a lost answer is re-read, never resent). --server limits it to the servers",
        "named (the extended server's ID or its staging server's).",
        "",
        untouched,
        "",
        "Examples:",
        "  npm run -s align-launch -- -s target",
        "  npm run -s align-launch -- -s target --outputs outputs.json --apply",
        "  npm run -s align-launch -- --print-policy target > align-launch-policy.json",
        "",
        ...permissionsHelp("align-launch"),
    ].join("\n");
}

/** The command as the CLI runs it: reads the stack like verify, checks the credentials once, then alignLaunch. */
export async function alignLaunchCommand(
    options: AwsCommandOptions & { apply: boolean; servers?: string[]; target?: string },
    deps: AwsCommandDeps,
): Promise<number> {
    const { stack, io, access, deadline } = await openStack("align-launch", options, deps);
    const ids = Array.isArray(stack.outputs.targetAccountIds)
        ? (stack.outputs.targetAccountIds as string[])
        : [String(stack.outputs.targetAccountId ?? stack.settings.target.accountId)];
    if (options.target === undefined && ids.length > 1)
        throw new CannotAlignLaunch(
            `stack ${options.stack} recovers into ${ids.length} targets (${ids.join(", ")}): give --target <account>.`,
        );
    const target = options.target ?? ids[0];
    if (!ids.includes(target))
        throw new CannotAlignLaunch(`--target ${target}: not a target of stack ${options.stack} (${ids.join(", ")}).`);
    const settings = stack.settings.targets.find((t) => t.accountId === target) ?? stack.settings.target;
    const resume = resumeCommand("align-launch", options, [options.target && `--target ${options.target}`]);
    return alignLaunch(
        target,
        settings.launch,
        access,
        { apply: options.apply, json: options.json, servers: options.servers, deadline, resume },
        io,
    );
}
