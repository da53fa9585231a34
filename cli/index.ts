// The command line: the parser built from the command table (cli/commands.ts), run as
// `npm run -s <command> -- ...` or `drs-cross-account-kms <command>` (package.json bin; commander:
// https://github.com/tj/commander.js). Start-up stays lean: the Pulumi SDK, the AWS SDK and the
// Automation API load only in the commands that use them.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { Io } from "../ops/io";
import { UsageError } from "../config/errors";
import { closest } from "../config/text";
import { commands } from "./commands";
import type { CliDeps, CommandSpec, Flag } from "./flags";

export type { CliDeps };

export const exitCodes =
    "Exit codes: 0 ok, 1 findings, 2 could not run (arguments, files, config, credentials), 3 no finding, but some checks could not run.";
const binName = "drs-cross-account-kms";

/** A single-value option given twice is refused, naming the flag; with choices, anything else is too. */
function single(flag: string, choices?: readonly string[]) {
    return (value: string, previous: unknown) => {
        if (previous !== undefined) throw new InvalidArgumentError(`${flag} was given twice (${previous}, then ${value}): give it once.`);
        if (choices && !choices.includes(value)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(", ")}.`);
        return value;
    };
}

/** A repeatable flag's values, which may also be comma-separated. */
const appended = (value: string, previous: string[] = []) => [
    ...previous,
    ...value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
];

/** The commander option of a flag of the table. */
function optionOf(flag: Flag, spec: CommandSpec): Option {
    const help = flag.help.replace("{identities}", spec.identities ?? "");
    const option = new Option(flag.flags, help);
    if (flag.kind === "value") {
        option.argParser(single(/--[\w-]+/.exec(flag.flags)![0], flag.choices));
        if (flag.choices) option.argChoices = [...flag.choices]; // shown in the help
    }
    if (flag.kind === "list") option.argParser(appended);
    return option;
}

/** The text after a command's flags in --help: its notes and examples, then its exit codes. */
const helpAfter = (spec: CommandSpec) => ["", ...spec.help(), "", `Exit codes: ${spec.exitCodes}.`].join("\n");

/** Turns commander's messages into one line: `error: unknown option '--stak' (did you mean --stack?)`. */
function oneLine(message: string): string {
    return `${message
        .trim()
        .replace(/\n\(Did you mean (.+)\)$/, " (did you mean $1)")
        .replace(/\s*\n\s*/g, " ")}\n`;
}

function buildProgram(io: Io, deps: CliDeps, result: { code: number }) {
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
    for (const { name, summary, spec } of commands) {
        const command = program
            .command(name)
            .description(summary)
            .usage(`-s <stack> [options]`)
            .action(async (options: Record<string, unknown>) => {
                // Checked here rather than by commander, so that a misspelt flag (--stak) is named first, with its suggestion.
                // --print-policy needs no stack: it prints what the command needs.
                if (options.stack === undefined && options.printPolicy === undefined)
                    throw new UsageError("required option '-s, --stack <name>' not specified");
                result.code = await spec.run(options, { name, io, deps });
            });
        for (const flag of spec.flags) command.addOption(optionOf(flag, spec));
        command.addHelpText("after", () => helpAfter(spec));
    }

    // The usage line as the user called the command: through npm (npm run -s verify -- ...) or the bin.
    const viaNpm = program.commands.find((c) => c.name() === process.env.npm_lifecycle_event);
    if (viaNpm) program.name("npm run -s").commands.forEach((c) => c.usage(`-- ${c.usage()}`));
    return program;
}

/**
 * An unknown command is an error with the one likely meant, whatever follows it: commander answers
 * `nosuch --help` (and `help nosuch`) with the general help and exit 0. The program's only own
 * option is --help, so the first argument that is not a flag names the command.
 */
function refuseUnknownCommand(program: Command, argv: string[]): void {
    const [first, second] = argv.filter((arg) => !arg.startsWith("-"));
    const named = first === "help" ? second : first;
    if (named === undefined || commands.some((c) => c.name === named)) return;
    const meant = closest(
        named,
        commands.map((c) => c.name),
    );
    program.error(`error: unknown command '${named}'${meant ? ` (did you mean ${meant}?)` : ""}`, { code: "commander.unknownCommand" });
}

/** Runs one command line (without node and the script); returns the exit code. */
export async function run(argv: string[], deps: CliDeps = {}): Promise<number> {
    const io = deps.io ?? { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };
    const result = { code: 0 };
    const program = buildProgram(io, deps, result);
    try {
        refuseUnknownCommand(program, argv);
        await program.parseAsync(argv, { from: "user" });
        return result.code;
    } catch (err) {
        if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
        // A user's mistake (config/errors) carries its exit code and needs no stack trace.
        const exitCode = (err as { exitCode?: unknown })?.exitCode;
        if (err instanceof Error && typeof exitCode === "number") {
            io.err(`error: ${err.message}\n`);
            return exitCode;
        }
        // A bug, not a mistake of the user's: the stack trace helps to report it.
        io.err(`error: ${(err as Error).stack ?? err}\n`);
        return 2;
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
