// The dev commands, on one command line (commander: https://github.com/tj/commander.js):
//   npm run -s synth -- -s <stack> [--format json|text|mermaid] [--json] [--prices <file>] [--servers <n>] [--out <file>] [--policies-dir <dir>] [--config-file <path>]
//   npm run -s access-report -- -s <stack> [--json] [--config-file <path>]
//   npm run -s verify -- -s <stack> [--outputs <file|->] [--config-file <path>] [--prices <file>] [--max-drill-age <days>] [--json]
//   npm run -s align-servers -- -s <stack> [--outputs <file|->] [--server <id>]... [--apply [--batch <n>]] [--include-unencrypted] [--json]
//   npm run -s drill -- -s <stack> [--server <id>... | --count <n>] [--start | --cleanup --job <id> | --diagnose --job <id>] [...]
// The AWS commands also take --time-limit, --connect-timeout, --request-timeout and --print-policy.
// The same commands as `drs-cross-account-kms <command>` (package.json bin). Start-up stays lean:
// the Pulumi SDK, the AWS SDK and the Automation API load only in the commands that use them.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import * as fs from "fs";
import * as path from "path";
import type { AwsAccess, ClientOptions } from "../ops/aws/access";
import type { StackWorkspace } from "../ops/aws/deployedStack";
import type { Io } from "../ops/io";
import { UsageError } from "../config/errors";

/** What the tests replace: the streams, the Pulumi CLI's workspace, AWS, how soon progress shows. */
export interface CliDeps {
    io?: Io;
    /** The Pulumi CLI's workspace; null: no CLI. Default: the Automation API when `pulumi` is on PATH. */
    workspace?: StackWorkspace | null;
    /** AWS clients per account, given the role per account, the command's name and the clients' options. */
    access?: (roleArns: Map<string, string | undefined>, command: string, options: ClientOptions) => AwsAccess;
    /** Time for the AWS commands' limits and waits (the tests' fake clock). */
    clock?: import("../ops/clock").Clock;
    /** Progress shows once a command has run this long (default 1 s). */
    progressDelayMs?: number;
    /** The project folder (Pulumi.yaml); default the repository root. */
    projectDir?: string;
}

export const exitCodes =
    "Exit codes: 0 ok, 1 findings, 2 could not run (arguments, files, config, credentials), 3 no finding, but some checks could not run.";
const binName = "drs-cross-account-kms";

/** A single-value option given twice is refused, naming the flag; with choices, anything else is too. */
function single(flag: string, choices?: string[]) {
    return (value: string, previous: unknown) => {
        if (previous !== undefined) throw new InvalidArgumentError(`${flag} was given twice (${previous}, then ${value}): give it once.`);
        if (choices && !choices.includes(value)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(", ")}.`);
        return value;
    };
}

function valueOption(flags: string, description: string, choices?: string[]): Option {
    const long = /--[\w-]+/.exec(flags)![0];
    const option = new Option(flags, description).argParser(single(long, choices));
    if (choices) option.argChoices = choices; // shown in the help
    return option;
}

const stackOption = () => valueOption("-s, --stack <name>", "the stack, required (its config: Pulumi.<name>.yaml under Pulumi.yaml)");
const configFileOption = () => valueOption("--config-file <path>", "read this stack config file instead of Pulumi.<name>.yaml");
const jsonOption = (what: string) => new Option("--json", `one JSON document on stdout (${what}), nothing else there`);
/** A repeatable flag whose values may also be comma-separated. */
const listOption = (flags: string, description: string) =>
    new Option(flags, description).argParser((value: string, previous: string[] = []) => [
        ...previous,
        ...value
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
    ]);
const pricesOption = () =>
    valueOption(
        "--prices <file.json>",
        "prices over plan/pricing.ts's list prices: a JSON object (kms, drsServerHour; docs/cost-and-quotas.md)",
    );
/** What every command that calls AWS takes beside its own flags. */
const awsOptions = (command: Command, identities: string) =>
    command
        .addOption(valueOption("--time-limit <minutes>", "give up what is not done after this long, as not checked (default per command)"))
        .addOption(valueOption("--connect-timeout <seconds>", "to open a connection to AWS (default 10)"))
        .addOption(valueOption("--request-timeout <seconds>", "to wait for an answer on an open connection (default 60)"))
        .addOption(
            new Option(
                "--print-policy [identity]",
                `print the IAM policy the command needs (${identities}; all by default) and exit, with no stack and no AWS`,
            ),
        );
const outputsOption = () =>
    valueOption(
        "--outputs <file|->",
        "`pulumi stack output --json` of the stack, as a file or - for stdin (default with the Pulumi CLI installed: read from the stack)",
    );

function help(command: string, lines: string[]): string {
    return ["", ...lines, "", `Exit codes: ${exitCodeWords[command]}.`].join("\n");
}

const couldNotRun = "2 could not run (arguments, files, config, credentials)";
const someUnchecked = "3 nothing failed, but some checks could not run (never counted as passed)";
/** Each command's exit codes in words: --help and docs/cli.md. */
export const exitCodeWords: Record<string, string> = {
    synth: `0 planned, ${couldNotRun}`,
    "access-report": `0 no mismatch, 1 a request is allowed or denied against the access model, ${couldNotRun}`,
    verify: `0 every check ran and none failed (warnings included), 1 a check failed, ${couldNotRun} or no check could run, ${someUnchecked}`,
    "align-servers": `0 nothing to move (or everything moved), 1 servers to move (dry run), a server failed, or a run stopped with servers left, ${couldNotRun}, ${someUnchecked}`,
    drill: `0 a dry run that would start, or every drilled server launched, 1 a server failed or timed out, ${couldNotRun}, ${someUnchecked} (the KMS diagnosis still waiting on CloudTrail included)`,
};

/** Turns commander's messages into one line: `error: unknown option '--stak' (did you mean --stack?)`. */
function oneLine(message: string): string {
    return `${message
        .trim()
        .replace(/\n\(Did you mean (.+)\)$/, " (did you mean $1)")
        .replace(/\s*\n\s*/g, " ")}\n`;
}

function buildProgram(io: Io, run: (name: string, options: Record<string, unknown>) => Promise<number>, result: { code: number }) {
    const program = new Command(binName)
        .description("Dev tools of the drs-cross-account-kms Pulumi program: the offline plan, the access report, and checks against AWS.")
        .exitOverride()
        .showSuggestionAfterError(true)
        .allowExcessArguments(false)
        .configureOutput({
            writeOut: (text) => io.out(text),
            writeErr: (text) => io.err(text),
            outputError: (text, write) => write(oneLine(text)),
        })
        .addHelpText(
            "after",
            `\nRun \`${binName} <command> --help\` (or npm run -s <command> -- --help) for a command's flags.\n${exitCodes}`,
        );
    const define = (name: string, description: string) =>
        program
            .command(name)
            .description(description)
            .usage(`-s <stack> [options]`)
            .action(async (options: Record<string, unknown>) => {
                // Checked here rather than by commander, so that a misspelt flag (--stak) is named first, with its suggestion.
                // --print-policy needs no stack: it prints what the command needs.
                if (options.stack === undefined && options.printPolicy === undefined)
                    throw new UsageError("required option '-s, --stack <name>' not specified");
                result.code = await run(name, options);
            });

    const synth = define(
        "synth",
        "The offline plan: runs index.ts under Pulumi mocks with the stack's config and prints every resource it would register, without AWS or the Pulumi CLI.",
    )
        .addOption(stackOption())
        .addOption(
            valueOption(
                "--format <format>",
                "json: the plan with its monthly cost and quota use (default); text: in words, then the access report; mermaid: who may do what, as a Mermaid flowchart",
                ["json", "text", "mermaid"],
            ),
        )
        .addOption(jsonOption("the plan; the same as --format json"))
        .addOption(pricesOption())
        .addOption(
            listOption(
                "--servers <n>",
                "replicating servers: DRS's own monthly charge and the staging capacity they need (a total, or <region>=<n>, comma-separated)",
            ),
        )
        .addOption(valueOption("--out <file>", "write to this file instead of stdout (a missing folder is created)"))
        .addOption(valueOption("--policies-dir <dir>", "also write every policy document there as <resource name>.json"))
        .addOption(configFileOption());
    synth.addHelpText(
        "after",
        help("synth", [
            "Config as `pulumi up` reads it: Pulumi.yaml's project config (values and declared defaults) under the",
            'stack file\'s. A `secure:` value cannot be decrypted here: the plan runs with "[secret]" in its place,',
            "says so on stderr and lists the key in secretConfigKeys; its value is never printed.",
            "",
            "Examples:",
            "  npm run -s synth -- -s staging",
            "  npm run -s synth -- --stack=target --format text",
            "  npm run -s synth -- -s target --out plans/target.json --policies-dir plans/policies",
            "  npm run -s synth -- -s target --format text --servers 450 --prices prices.json",
            "  npm run -s synth -- -s target --format mermaid > access-map.mmd",
            "",
            "Cost: list prices from plan/pricing.ts (each figure with its source and the date read), replaced by",
            '--prices (e.g. {"drsServerHour": {"us-east-1": 0.03}}). Quotas: plan/quotas.ts. docs/cost-and-quotas.md.',
        ]),
    );

    define(
        "access-report",
        "Who can do what on each key of the stack's plan (and the stacks it reads): the key policy and the target's IAM policies evaluated together, against the access model.",
    )
        .addOption(stackOption())
        .addOption(jsonOption("the checks as an array"))
        .addOption(configFileOption())
        .addHelpText(
            "after",
            help("access-report", [
                "Examples:",
                "  npm run -s access-report -- -s target",
                "  npm run -s access-report -- -s staging --json",
            ]),
        );

    const verifyCommand = define("verify", "Read-only checks, against AWS, that a deployed stack works.")
        .addOption(stackOption())
        .addOption(outputsOption())
        .addOption(configFileOption())
        .addOption(pricesOption())
        .addOption(valueOption("--max-drill-age <days>", "a server last drilled or recovered longer ago is unproven again (default 90)"))
        .addOption(jsonOption("the results as an array"));
    awsOptions(verifyCommand, "staging, target, you");
    verifyCommand.addHelpText("after", () => {
        // The check catalog is in verify.ts, which loads the AWS SDK: only for this help.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { verifyHelp } = require("../ops/verify") as typeof import("../ops/verify");
        return help("verify", [
            verifyHelp(),
            "",
            "Examples:",
            "  npm run -s verify -- -s staging                       # with the Pulumi CLI: reads the stack itself",
            "  pulumi stack output --json --stack staging | npm run -s verify -- -s staging --outputs -",
            "  npm run -s verify -- -s target --outputs outputs.json --json",
        ]);
    });

    const align = define("align-servers", "Moves the source servers replicating into each staging account onto that account's staging key.")
        .addOption(stackOption())
        .addOption(outputsOption())
        .addOption(listOption("--server <id>", "only this source server (repeat it, or comma-separate IDs)"))
        .addOption(new Option("--apply", "make the changes; without it, a dry run that changes nothing"))
        .addOption(
            valueOption("--batch <n>", "with --apply, move n servers, wait until each has a point in time on the key, then the next n"),
        )
        .addOption(new Option("--include-unencrypted", "also move servers that replicate unencrypted (NONE) onto the key"))
        .addOption(jsonOption("the plan, and the results with --apply; progress on stderr"))
        .addOption(configFileOption());
    awsOptions(align, "staging, you").addHelpText("after", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { alignServersHelp } = require("../ops/align-servers") as typeof import("../ops/align-servers");
        return help("align-servers", [alignServersHelp()]);
    });

    const drillCommand = define(
        "drill",
        "Proves recovery in the target: a DRS drill (never a recovery) as a key-user role, its KMS refusals named, then clean-up.",
    )
        .addOption(stackOption())
        .addOption(outputsOption())
        .addOption(listOption("--server <id>", "drill this extended source server (repeat it, or comma-separate IDs)"))
        .addOption(valueOption("--count <n>", "servers per staging entry, from the healthy extended servers (default 1)"))
        .addOption(new Option("--start", "start the drill; without it, a plan that starts nothing"))
        .addOption(valueOption("--role <name>", "the key-user role to run as (default: the first of target.keyUserRoleNames)"))
        .addOption(new Option("--current-credentials", "run as your current credentials (an Identity Center session), not a key-user role"))
        .addOption(new Option("--any-identity", "run even as an identity without the key-use policy"))
        .addOption(valueOption("--timeout <minutes>", "follow the job this long before giving up (default 60)"))
        .addOption(new Option("--keep", "leave the drill instances running (default: terminate them at the end)"))
        .addOption(new Option("--cleanup", "terminate the recovery instances of the drill job given with --job"))
        .addOption(new Option("--diagnose", "only the KMS diagnosis of the drill job given with --job"))
        .addOption(listOption("--job <jobID>", "a drill job, for --cleanup or --diagnose (repeatable)"))
        .addOption(listOption("--staging-role <arn>", "a role to read a staging account with, where the config names none (repeatable)"))
        .addOption(valueOption("--target <account>", "the target account to drill, in a stack of several targets"))
        .addOption(
            valueOption(
                "--trail-wait <minutes>",
                "after the job ends, how long CloudTrail may still deliver before 'no KMS refusal found' (default 15)",
            ),
        )
        .addOption(pricesOption())
        .addOption(jsonOption("the plan and the results; progress on stderr"))
        .addOption(configFileOption());
    awsOptions(drillCommand, "target, drill-identity, staging, you").addHelpText("after", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { drillHelp } = require("../ops/drill") as typeof import("../ops/drill");
        return help("drill", [drillHelp()]);
    });

    // The usage line as the user called the command: through npm (npm run -s verify -- ...) or the bin.
    const viaNpm = program.commands.find((c) => c.name() === process.env.npm_lifecycle_event);
    if (viaNpm) program.name("npm run -s").commands.forEach((c) => c.usage(`-- ${c.usage()}`));
    return program;
}

/** Runs one command line (without node and the script); returns the exit code. */
export async function run(argv: string[], deps: CliDeps = {}): Promise<number> {
    const io = deps.io ?? { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };
    const result = { code: 0 };
    const program = buildProgram(io, (name, options) => runCommand(name, options, io, deps), result);
    try {
        await program.parseAsync(argv, { from: "user" });
        return result.code;
    } catch (err) {
        if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
        if (err instanceof UsageError) {
            io.err(`error: ${err.message}\n`);
            return 2;
        }
        // A bug, not a mistake of the user's: the stack trace helps to report it.
        io.err(`error: ${(err as Error).stack ?? err}\n`);
        return 2;
    }
}

/** --json means --format json; both with another format is a contradiction. */
function formatOf(options: Record<string, unknown>): "json" | "text" | "mermaid" {
    const format = options.format as "json" | "text" | "mermaid" | undefined;
    if (options.json && format && format !== "json") throw new UsageError(`--json and --format ${format} contradict each other: give one.`);
    return options.json ? "json" : (format ?? "json");
}

async function runCommand(name: string, options: Record<string, unknown>, io: Io, deps: CliDeps): Promise<number> {
    const stack = options.stack as string;
    const configFile = options.configFile as string | undefined;
    if (name === "synth" || name === "access-report") {
        const format = name === "synth" ? formatOf(options) : options.json ? "json" : "text";
        const estimate = await estimateOptions(options, format);
        const { synthesize } = await import("../plan/synth");
        const result = await synthesize(stack, { configFile, projectDir: deps.projectDir });
        if (format !== "mermaid") {
            // Without --prices, the stack's own pricing config (checked by the program's run).
            const { pricesFor, pricingConfigKey } = await import("../plan/pricing");
            estimate.prices = pricesFor(estimate.prices, result.config?.[pricingConfigKey]);
        }
        for (const warning of result.warnings) io.err(`warning: ${warning}\n`);
        let text: string;
        if (format === "mermaid") {
            // The picture needs neither the simulator nor the plan's words.
            const { accessMap } = await import("../plan/accessMap");
            text = accessMap(result);
        } else {
            const { accessReport, formatAccessReport, mismatches } = await import("../plan/accessReport");
            if (name === "access-report") {
                const checks = await accessReport(result);
                io.out(format === "json" ? `${JSON.stringify(checks, null, 2)}\n` : `${formatAccessReport(checks)}\n`);
                return mismatches(checks).length > 0 ? 1 : 0;
            }
            const { formatEstimate, formatPlanText } = await import("../plan/text");
            const { planDocument } = await import("../plan/document");
            text =
                format === "json"
                    ? `${JSON.stringify(planDocument(result, estimate), null, 2)}\n`
                    : `${formatPlanText(result)}\n\n${formatEstimate(result, estimate)}\n\n${formatAccessReport(await accessReport(result))}\n`;
        }
        const { policyDocuments } = await import("../plan/text");
        if (options.policiesDir) {
            const dir = options.policiesDir as string;
            for (const [file, doc] of policyDocuments(result))
                writeFile("--policies-dir", path.join(dir, `${file}.json`), `${JSON.stringify(doc, null, 2)}\n`);
        }
        if (options.out) writeFile("--out", options.out as string, text);
        else io.out(text);
        return 0;
    }
    if (options.printPolicy !== undefined) return printPolicy(name, options.printPolicy, io);
    const workspace = deps.workspace === undefined ? await defaultWorkspace() : (deps.workspace ?? undefined);
    const progressDelayMs = deps.progressDelayMs ?? 1000;
    // What every AWS command takes: the stack, its outputs and config, --json, its limits; and how it reaches AWS.
    const common = {
        stack,
        outputsFile: options.outputs as string | undefined,
        configFile,
        json: Boolean(options.json),
        timeLimitMinutes: amountOf(options, "timeLimit", "--time-limit", "minutes", 0, 7 * 24 * 60),
        connectTimeoutSeconds: amountOf(options, "connectTimeout", "--connect-timeout", "seconds", 0, 600),
        requestTimeoutSeconds: amountOf(options, "requestTimeout", "--request-timeout", "seconds", 0, 3600),
    };
    const awsDeps = { io, workspace, access: deps.access, progressDelayMs, projectDir: deps.projectDir, clock: deps.clock };
    if (name === "verify") {
        const { verifyCommand } = await import("../ops/verify");
        return verifyCommand(
            {
                ...common,
                prices: await readPrices(options.prices as string | undefined),
                maxDrillAgeDays: amountOf(options, "maxDrillAge", "--max-drill-age", "days", 0, 3650),
            },
            awsDeps,
        );
    }
    if (name === "drill") {
        const { drillCommand } = await import("../ops/drill");
        return drillCommand(
            {
                ...common,
                start: Boolean(options.start),
                cleanup: Boolean(options.cleanup),
                diagnose: Boolean(options.diagnose),
                servers: options.server as string[] | undefined,
                count: options.count as string | undefined,
                role: options.role as string | undefined,
                currentCredentials: Boolean(options.currentCredentials),
                anyIdentity: Boolean(options.anyIdentity),
                timeout: options.timeout as string | undefined,
                keep: Boolean(options.keep),
                jobs: options.job as string[] | undefined,
                stagingRoles: options.stagingRole as string[] | undefined,
                target: options.target as string | undefined,
                trailWait: options.trailWait as string | undefined,
                prices: await readPrices(options.prices as string | undefined),
            },
            awsDeps,
        );
    }
    const batch = amountOf(options, "batch", "--batch", "servers", 1, 300);
    if (batch !== undefined && !Number.isInteger(batch)) throw new UsageError(`--batch ${options.batch}: give a whole number of servers.`);
    if (batch !== undefined && !options.apply) throw new UsageError("--batch goes with --apply: a dry run moves nothing.");
    const { alignServersCommand } = await import("../ops/align-servers");
    return alignServersCommand(
        {
            ...common,
            apply: Boolean(options.apply),
            servers: options.server as string[] | undefined,
            includeUnencrypted: Boolean(options.includeUnencrypted),
            batch,
        },
        awsDeps,
    );
}

/** A number flag (minutes, seconds, days, servers) above `min` (or at it, for a minimum of 1) and at most `max`; a usage error names it. */
function amountOf(options: Record<string, unknown>, key: string, flag: string, unit: string, min: number, max: number): number | undefined {
    const given = options[key];
    if (given === undefined) return undefined;
    const n = Number(given);
    const ok = typeof given === "string" && given.trim() !== "" && Number.isFinite(n) && (min >= 1 ? n >= min : n > min) && n <= max;
    if (!ok)
        throw new UsageError(
            `${flag} ${String(given)}: give the ${unit}, ${min >= 1 ? `${min} or more` : `more than ${min}`} and at most ${max}.`,
        );
    return n;
}

/** --print-policy [identity]: the IAM policy the command needs, as JSON, with no stack and no AWS. */
async function printPolicy(name: string, identity: unknown, io: Io): Promise<number> {
    const { commandPermissions, printedPolicy } = await import("../ops/permissions");
    const command = name as keyof typeof commandPermissions;
    const id = identity === true ? undefined : String(identity);
    const policy = printedPolicy(command, id);
    if (policy === undefined)
        throw new UsageError(
            `--print-policy ${id}: not an identity of ${name} (${commandPermissions[command].map((i) => i.id).join(", ")}).`,
        );
    io.out(`${JSON.stringify(policy, null, 2)}\n`);
    return 0;
}

/** --prices as a price table (the list prices without it); a file that is not one is a usage error. */
async function readPrices(file: string | undefined): Promise<import("../plan/pricing").PriceTable | undefined> {
    if (file === undefined) return undefined;
    const { PricesError, pricesWith } = await import("../plan/pricing");
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new UsageError(`--prices ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
    }
    try {
        return pricesWith(JSON.parse(text), `--prices ${file}`);
    } catch (err) {
        if (err instanceof PricesError) throw new UsageError(err.message);
        throw new UsageError(`--prices ${file}: not JSON (${(err as Error).message}).`);
    }
}

/** --prices and --servers for the plan's cost and capacity; they say nothing to a picture. */
async function estimateOptions(options: Record<string, unknown>, format: string): Promise<import("../plan/document").EstimateOptions> {
    const given = ["prices", "servers"].filter((o) => options[o] !== undefined).map((o) => `--${o}`);
    if (format === "mermaid" && given.length > 0)
        throw new UsageError(`${given.join(" and ")} go with --format json or text, not mermaid.`);
    const { PricesError, parseServerCount } = await import("../plan/pricing");
    try {
        return {
            prices: await readPrices(options.prices as string | undefined),
            servers: parseServerCount(options.servers as string[] | undefined),
        };
    } catch (err) {
        if (err instanceof PricesError) throw new UsageError(err.message);
        throw err;
    }
}

async function defaultWorkspace(): Promise<StackWorkspace | undefined> {
    const { localWorkspace, pulumiOnPath } = await import("../ops/aws/deployedStack");
    return pulumiOnPath() ? localWorkspace : undefined;
}

/** Writes a file the user named, creating its folder; a failure is one line naming the flag. */
function writeFile(flag: string, file: string, text: string): void {
    try {
        fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        fs.writeFileSync(file, text);
    } catch (err) {
        throw new UsageError(`${flag} ${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
    }
}

/** The command line of this process: `node cli/index.ts <command> ...` or the bin's launcher. */
export async function main(): Promise<void> {
    // Output piped into `head` and the like: stop quietly when the reader has gone.
    for (const stream of [process.stdout, process.stderr])
        stream.on("error", (err: NodeJS.ErrnoException) => {
            if (err.code !== "EPIPE") throw err;
            process.exit(process.exitCode ?? 0);
        });
    process.exitCode = await run(process.argv.slice(2));
}

if (require.main === module) void main();
