// The command table: every command's name, its one-line summary and where its flags and code are
// (cli/commands/<name>.ts). The parser, --help, package.json's scripts and docs/cli.md's flag tables
// come from here; adding a command is a row here and its own file (CONTRIBUTING.md).
import { accessReport } from "./commands/accessReport";
import { alignLaunch } from "./commands/alignLaunch";
import { alignServers } from "./commands/alignServers";
import { drill } from "./commands/drill";
import { extend } from "./commands/extend";
import { initialize } from "./commands/initialize";
import { synth } from "./commands/synth";
import { verify } from "./commands/verify";
import { type CommandSpec, awsFlags } from "./flags";

export interface CommandEntry {
    name: string;
    summary: string;
    /** Its flags, help and code; each file loads what its command uses only when it runs: start-up stays lean. */
    spec: CommandSpec;
    /** Its own page under docs/, if it has one. */
    page?: string;
}

export const commands: CommandEntry[] = [
    {
        name: "synth",
        summary:
            "The offline plan: runs index.ts under Pulumi mocks with the stack's config and prints every resource it would register, without AWS or the Pulumi CLI.",
        spec: synth,
        page: "offline-plan.md",
    },
    {
        name: "access-report",
        summary:
            "Who can do what on each key of the stack's plan (and the stacks it reads): the key policy and the target's IAM policies evaluated together, against the access model.",
        spec: accessReport,
    },
    {
        name: "initialize",
        summary: "Whether DRS is initialised in each account and Region of the stack; --apply initialises it where it is not.",
        spec: initialize,
        page: "initialize.md",
    },
    {
        name: "verify",
        summary: "Read-only checks, against AWS, that a deployed stack works.",
        spec: verify,
        page: "verify.md",
    },
    {
        name: "align-servers",
        summary: "Moves the source servers replicating into each staging account onto that account's staging key.",
        spec: alignServers,
        page: "align-servers.md",
    },
    {
        name: "extend",
        summary: "Extends the staging accounts' replicating servers into the target, so it can recover them; --apply creates them.",
        spec: extend,
        page: "extend.md",
    },
    {
        name: "align-launch",
        summary: "Brings each extended server's own launch configuration in line with the stack's launch settings; --apply updates them.",
        spec: alignLaunch,
        page: "align-launch.md",
    },
    {
        name: "drill",
        summary: "Proves recovery in the target: a DRS drill (never a recovery) as a key-user role, its KMS refusals named, then clean-up.",
        spec: drill,
        page: "drill.md",
    },
];

/** The npm script of a command: package.json has one per command, `npm run -s <name> -- ...`. */
export const npmScript = (name: string) => `node cli/launcher.cjs ${name}`;

/** package.json's scripts with one per command of the table, in its order, after the others (npm run docs writes them). */
export function withCommandScripts(scripts: Record<string, string>): Record<string, string> {
    const launcher = new Set(commands.map((c) => c.name));
    const others = Object.entries(scripts).filter(([name, script]) => !launcher.has(name) && !script.startsWith("node cli/launcher.cjs "));
    return Object.fromEntries([...others, ...commands.map((c) => [c.name, npmScript(c.name)] as const)]);
}

/** Text in a table cell: pipes escaped, and angle brackets, which Markdown would take for HTML. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const code = (text: string) => `\`${text.replace(/\|/g, "\\|")}\``;
const table = (rows: (readonly [string, string])[]) => [
    "| Flag | |",
    "|---|---|",
    ...rows.map(([flag, help]) => `| ${code(flag)} | ${cell(help)} |`),
];

/** docs/cli.md's flag tables: each command's own flags and exit codes, then the flags every AWS command takes. */
export function flagTables(): string {
    const aws = new Set<string>(awsFlags.map((f) => f.flags));
    const lines = commands.flatMap(({ name, spec, page }) => [
        `### ${name}`,
        "",
        ...table(spec.flags.filter((f) => !aws.has(f.flags)).map((f) => [f.flags, f.help] as const)),
        "",
        `Exit codes: ${cell(spec.exitCodes)}.${spec.identities ? " And the AWS flags below." : ""}${page ? ` More: [${page}](${page}).` : ""}`,
        "",
    ]);
    const withAws = commands.filter((c) => c.spec.identities).map((c) => `${c.name} (identities: ${c.spec.identities})`);
    return [
        ...lines,
        "### The commands that call AWS",
        "",
        `${withAws.join(", ")} also take:`,
        "",
        ...table(awsFlags.map((f) => [f.flags, f.help.replace("{identities}; ", "")] as const)),
    ].join("\n");
}
