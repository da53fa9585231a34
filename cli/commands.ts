// The command table: every command's name, its one-line summary and where its flags and code are
// (cli/commands/<name>.ts). The parser, --help, package.json's scripts and docs/cli.md's flag tables
// come from here; adding a command is a row here and its own file (CONTRIBUTING.md).
import { accessReport } from "./commands/accessReport";
import { alignServers } from "./commands/alignServers";
import { drill } from "./commands/drill";
import { synth } from "./commands/synth";
import { verify } from "./commands/verify";
import type { CommandSpec } from "./flags";

export interface CommandEntry {
    name: string;
    summary: string;
    /** Its flags, help and code; each file loads what its command uses only when it runs: start-up stays lean. */
    spec: CommandSpec;
}

export const commands: CommandEntry[] = [
    {
        name: "synth",
        summary:
            "The offline plan: runs index.ts under Pulumi mocks with the stack's config and prints every resource it would register, without AWS or the Pulumi CLI.",
        spec: synth,
    },
    {
        name: "access-report",
        summary:
            "Who can do what on each key of the stack's plan (and the stacks it reads): the key policy and the target's IAM policies evaluated together, against the access model.",
        spec: accessReport,
    },
    {
        name: "verify",
        summary: "Read-only checks, against AWS, that a deployed stack works.",
        spec: verify,
    },
    {
        name: "align-servers",
        summary: "Moves the source servers replicating into each staging account onto that account's staging key.",
        spec: alignServers,
    },
    {
        name: "drill",
        summary: "Proves recovery in the target: a DRS drill (never a recovery) as a key-user role, its KMS refusals named, then clean-up.",
        spec: drill,
    },
];

/** The npm script of a command: package.json has one per command, `npm run -s <name> -- ...`. */
export const npmScript = (name: string) => `node cli/launcher.cjs ${name}`;
