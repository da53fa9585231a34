// What a command is made of: its flags, declared once as data, from which the parser (cli/index.ts),
// each command's typed options (OptionsOf) and the docs' flag tables (docs/cli.md) all come.
import type { AccessFactory } from "../ops/aws/command";
import type { StackWorkspace } from "../ops/aws/deployedStack";
import type { Clock } from "../ops/clock";
import type { Io } from "../ops/io";

/** value: `--out <file>`, given once; list: repeatable and comma-separated; switch: no value; optional: `--flag [value]`. */
export type FlagKind = "value" | "list" | "switch" | "optional";

export interface Flag {
    /** As commander takes them: `-s, --stack <name>`. */
    readonly flags: string;
    readonly help: string;
    readonly kind: FlagKind;
    readonly choices?: readonly string[];
}

/** The flag's long name: `--max-drill-age <days>` -> `max-drill-age`. */
type LongName<F extends string> = F extends `${string}--${infer Rest}` ? (Rest extends `${infer Name} ${string}` ? Name : Rest) : never;
type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;
type ValueOf<K extends FlagKind> = K extends "switch"
    ? boolean
    : K extends "list"
      ? string[]
      : K extends "optional"
        ? string | true
        : string;

/** A command's options as commander hands them over, typed from its flags: `--max-drill-age <days>` is `maxDrillAge?: string`. */
export type OptionsOf<F extends readonly Flag[]> = { [E in F[number] as Camel<LongName<E["flags"]>>]?: ValueOf<E["kind"]> };

/** What the tests replace: the streams, the Pulumi CLI's workspace, AWS, how soon progress shows. */
export interface CliDeps {
    io?: Io;
    /** The Pulumi CLI's workspace; null: no CLI. Default: the Automation API when `pulumi` is on PATH. */
    workspace?: StackWorkspace | null;
    /** AWS clients per account, given the role per account, the command's name and the clients' options. */
    access?: AccessFactory;
    /** Time for the AWS commands' limits and waits (the tests' fake clock). */
    clock?: Clock;
    /** Progress shows once a command has run this long (default 1 s). */
    progressDelayMs?: number;
    /** The project folder (Pulumi.yaml); default the repository root. */
    projectDir?: string;
}

export interface CommandContext {
    name: string;
    io: Io;
    deps: CliDeps;
}

/** One command: its flags, the words of its exit codes, the text after its flags in --help, and what it does. */
export interface CommandSpec<F extends readonly Flag[] = readonly Flag[]> {
    flags: F;
    /** For the commands that call AWS: the identities --print-policy knows (its help). */
    identities?: string;
    exitCodes: string;
    /** Lines after the flags in --help (examples, notes); a function, as some load their command's module. */
    help(): string[];
    /** Runs the command with its parsed options; returns the exit code. Usage errors are thrown (config/errors). */
    run(options: OptionsOf<F>, context: CommandContext): Promise<number>;
}

/** A command's spec, its options typed from its flags. */
export const defineCommand = <const F extends readonly Flag[]>(spec: CommandSpec<F>): CommandSpec<F> => spec;

export const couldNotRun = "2 could not run (arguments, files, config, credentials)";
export const someUnchecked = "3 nothing failed, but some checks could not run (never counted as passed)";

export const stackFlag = {
    flags: "-s, --stack <name>",
    kind: "value",
    help: "the stack, required (its config: Pulumi.<name>.yaml under Pulumi.yaml)",
} as const;
export const configFileFlag = {
    flags: "--config-file <path>",
    kind: "value",
    help: "read this stack config file instead of Pulumi.<name>.yaml",
} as const;
export const jsonFlag = <const W extends string>(what: W) =>
    ({ flags: "--json", kind: "switch", help: `one JSON document on stdout (${what}), nothing else there` }) as const;
export const pricesFlag = {
    flags: "--prices <file.json>",
    kind: "value",
    help: "prices over plan/pricing.ts's list prices: a JSON object (kms, drsServerHour; docs/cost-and-quotas.md)",
} as const;
export const outputsFlag = {
    flags: "--outputs <file|->",
    kind: "value",
    help: "`pulumi stack output --json` of the stack, as a file or - for stdin (default with the Pulumi CLI installed: read from the stack)",
} as const;

/** What every command that calls AWS takes beside its own flags. */
export const awsFlags = [
    {
        flags: "--time-limit <minutes>",
        kind: "value",
        help: "give up what is not done after this long, as not checked (default per command)",
    },
    { flags: "--connect-timeout <seconds>", kind: "value", help: "to open a connection to AWS (default 10)" },
    { flags: "--request-timeout <seconds>", kind: "value", help: "to wait for an answer on an open connection (default 60)" },
    {
        flags: "--print-policy [identity]",
        kind: "optional",
        help: "print the IAM policy the command needs ({identities}; all by default) and exit, with no stack and no AWS",
    },
] as const;
