// The initialize command: plan, print, and with --apply initialise DRS where it is not
// (initialize); its --help; and the command as the CLI runs it, reading the stack from its config
// when it has no outputs yet (it runs before the staging stack's first `pulumi up`).
import type { Settings } from "../../config";
import { drsServiceLinkedRoleName } from "../../components/policies";
import { plural } from "../../config/text";
import { StagingKeyExport } from "../../program/contract";
import { AwsAccess } from "../aws/access";
import { AwsCommandDeps, AwsCommandOptions, openStack, resumeCommand } from "../aws/command";
import { Io, interruptible } from "../io";
import { permissionsHelp } from "../permissions";
import { ApplyOptions, applyInitialization } from "./apply";
import { placesOf, planInitialization } from "./plan";
import { exitCodeOf, formatPlan, formatResult, formatStop, nextStep } from "./report";
import { ApplyOutcome, PlaceResult } from "./types";

export interface InitializeOptions extends ApplyOptions {
    apply: boolean;
    json: boolean;
    /** The stack's name, for the next step's command. */
    stack?: string;
}

/** What initialize reads of the stack: its settings, the keys it exported (none before its first `pulumi up`). */
export interface InitializeInput {
    settings: Settings;
    keys: StagingKeyExport[];
    /** The stack had no outputs: the places come from the config alone. */
    configOnly: boolean;
}

/** Plans, prints, and with --apply initialises; returns the exit code. */
export async function initialize(input: InitializeInput, aws: AwsAccess, options: InitializeOptions, io: Io): Promise<number> {
    const progress = (line: string) => io.err(`${line}\n`);
    const { places, regionless } = placesOf(input.settings, input.keys);
    const plan = await planInitialization(places, regionless, aws, { deadline: options.deadline, progress, configOnly: input.configOnly });
    const text = (line: string) => (options.json ? io.err(`${line}\n`) : io.out(`${line}\n`));
    if (!options.json) io.out(`${formatPlan(plan, options.apply)}\n`);
    const left = plan.places.filter((p) => p.status === "not-initialised").length;
    const unchecked = plan.places.filter((p) => p.status === "unchecked").length + plan.regionless.length;
    let outcome: ApplyOutcome | undefined;
    if (options.apply && left > 0) {
        text(`\nInitialising DRS in ${plural(left, "account and Region", "accounts and Regions")}:`);
        outcome = await applyInitialization(plan, aws, (r) => text(formatResult(r)), { ...options, progress });
        const count = (s: PlaceResult["status"]) => outcome!.results.filter((r) => r.status === s).length;
        text(`\n${count("initialised")} initialised, ${count("skipped")} skipped (initialised already), ${count("failed")} failed.`);
        if (outcome.stopped) io.err(`${formatStop(outcome.stopped)}\n`);
        else if (count("failed") > 0)
            text(`Run again to retry the failed places: ${options.resume ?? "--apply"} (places initialised already are skipped).`);
    } else if (!options.apply && left > 0) {
        text(
            `\n${plural(left, "account and Region", "accounts and Regions")} to initialise. Run again with --apply to initialise ${left === 1 ? "it" : "them"}.`,
        );
    } else if (left === 0 && unchecked === 0) {
        text(
            `\nDRS is initialised in every account and Region of the stack (its service-linked role ${drsServiceLinkedRoleName} exists in each account).`,
        );
    }
    if (unchecked > 0)
        text(`${plural(unchecked, "place")} could not be checked (listed above, each with its fix): never counted as initialised.`);
    const next = nextStep(options.stack, input.settings.deploy, plan);
    if (next && !outcome?.stopped) text(`${left > 0 && !options.apply ? "Then" : "Next"}: ${next}`);
    const exitCode = exitCodeOf(plan, outcome);
    if (options.json) {
        const doc = { mode: options.apply ? "apply" : "dry-run", plan, ...(outcome ?? {}), exitCode };
        io.out(`${JSON.stringify(doc, null, 2)}\n`);
    }
    return exitCode;
}

/** What `initialize --help` says after the options. */
export function initializeHelp(): string {
    return [
        "Says, for each account and Region of the stack, whether Elastic Disaster Recovery is initialised",
        "there: DRS answers DescribeReplicationConfigurationTemplates (not UninitializedAccountException), and",
        "the account's service-linked role",
        `${drsServiceLinkedRoleName} exists (iam:GetRole, once per account). The places: every`,
        "stagingAccounts entry and every exported key (the staging side), and each target account in each of",
        "its Regions (target.regions, the keys' Regions, or every staging Region).",
        "",
        "Run it before the staging stack's first `pulumi up`: the key policy names the service-linked role, and",
        "`pulumi preview` refuses an account where it does not exist. Run it for the target side before a",
        "recovery. It needs no outputs: without --outputs and without the Pulumi CLI, it reads the stack's",
        "config alone (the keys of a deployed stack, read from its outputs, may add places).",
        "",
        "A dry run by default. With --apply it calls InitializeService where DRS is not initialised, place by",
        "place, re-reading each first (a place initialised meanwhile is skipped), sends it once (a lost answer",
        "is re-read, never resent), then waits until DRS answers and the role exists. InitializeService creates",
        "DRS's roles and instance profiles with your permissions. Afterwards `pulumi up` on the staging stack",
        "creates the replication settings template (each entry's replication settings).",
        "",
        "Examples:",
        "  npm run -s initialize -- -s staging",
        "  npm run -s initialize -- -s staging --apply",
        "  npm run -s initialize -- -s target --outputs outputs.json --apply --json",
        "  npm run -s initialize -- --print-policy staging > initialize-policy.json",
        "",
        "A run that stops (an access error, --time-limit, Ctrl-C) names the place it stopped at, what it did",
        "before, and the command that resumes. A place whose check could not run is never counted as initialised.",
        "",
        ...permissionsHelp("initialize"),
        "",
        "In the exit codes, 1 also covers an --apply that failed or stopped with places left; 2 a stop for lack of",
        "permission before anything was done; 3 a place that could not be checked, or a target with no known Region.",
    ].join("\n");
}

/** The command as the CLI runs it: reads the stack (its config alone when it has no outputs), checks the credentials once, then initialize. */
export async function initializeCommand(
    options: AwsCommandOptions & { apply: boolean },
    deps: AwsCommandDeps & { signal?: AbortSignal; pollMs?: number; lostAnswerWaitMs?: number },
): Promise<number> {
    const { stack, keys, io, access, deadline, clock } = await openStack("initialize", options, deps, undefined, { outputsOptional: true });
    const resume = resumeCommand("initialize", options, []);
    const words = { first: "stopping before the next InitializeService", second: () => `Stopped at once. Resume: ${resume}` };
    return interruptible(io, !deps.signal && options.apply, words, deps.signal, (signal) =>
        initialize(
            { settings: stack.settings, keys, configOnly: Object.keys(stack.outputs).length === 0 },
            access,
            {
                apply: options.apply,
                json: options.json,
                stack: options.stack,
                deadline,
                clock,
                signal,
                pollMs: deps.pollMs,
                lostAnswerWaitMs: deps.lostAnswerWaitMs,
                resume,
            },
            io,
        ),
    );
}
