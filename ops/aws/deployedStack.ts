// What the commands that talk to AWS (verify, align-servers) read of a deployed stack: its outputs,
// its config, and the role to assume in each account. From the stack itself through the Pulumi
// Automation API when the Pulumi CLI is installed (https://www.pulumi.com/docs/iac/using-pulumi/automation-api/),
// otherwise from files: `pulumi stack output --json` (--outputs) and the stack and project files.
import * as fs from "fs";
import * as path from "path";
import type { Settings } from "../../config";
import { hideSecrets, readProjectFile, readStackConfigFiles, readStackFile } from "../../config/files";
import { UsageError } from "../../config/errors";

export interface DeployedStack {
    outputs: Record<string, unknown>;
    settings: Settings;
    /** The role the program's provider assumes in each account (undefined: the current credentials). */
    roleArns: Map<string, string | undefined>;
    /** The profile the program's provider signs in with in each account that names one (stagingAccounts[].profile, target.profile). */
    profiles: Map<string, string>;
    /** Decrypted secret values (config and outputs) read from the stack: never to be printed. */
    secrets: string[];
    /** Config warnings and notes, for stderr. */
    warnings: string[];
    /** Where it was read from, for messages. */
    source: "files" | "pulumi";
}

/** A stack as the Automation API reads it (the tests fake it). */
export interface WorkspaceStack {
    getAllConfig(): Promise<Record<string, { value: string; secret?: boolean }>>;
    outputs(): Promise<Record<string, { value: unknown; secret?: boolean }>>;
}

export interface StackWorkspace {
    selectStack(stack: string, projectDir: string): Promise<WorkspaceStack>;
}

/** Is the Pulumi CLI on PATH? */
export function pulumiOnPath(env: NodeJS.ProcessEnv = process.env): boolean {
    const names = process.platform === "win32" ? ["pulumi.exe", "pulumi.cmd"] : ["pulumi"];
    for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
        for (const name of names) {
            try {
                fs.accessSync(path.join(dir, name), fs.constants.X_OK);
                return true;
            } catch {
                // not here
            }
        }
    }
    return false;
}

/** The Automation API's LocalWorkspace, loaded only when used (it is large). */
export const localWorkspace: StackWorkspace = {
    async selectStack(stack, projectDir) {
        const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
        return LocalWorkspace.selectStack({ stackName: stack, workDir: projectDir });
    },
};

export interface ReadOptions {
    stack: string;
    /** `pulumi stack output --json` as a file, or - for stdin. */
    outputsFile?: string;
    /** The stack file to read instead of Pulumi.<stack>.yaml. */
    configFile?: string;
    /** The project folder (Pulumi.yaml). Default: the repository root. */
    projectDir?: string;
    /** The Pulumi CLI's workspace, when the CLI is installed. */
    workspace?: StackWorkspace;
    /** The command's name, for messages. */
    command: string;
    /**
     * The command can run on the config alone (initialize, before the stack's first `pulumi up`):
     * without --outputs and without the Pulumi CLI, the stack is read as having no outputs.
     */
    outputsOptional?: boolean;
}

const defaultProjectDir = path.join(__dirname, "..", "..");

/**
 * Reads the stack's outputs and config: from the files given, and for what they do not give, from
 * the stack through the Pulumi CLI's workspace. A user mistake is a UsageError.
 */
export async function readDeployedStack(options: ReadOptions): Promise<DeployedStack> {
    const projectDir = options.projectDir ?? defaultProjectDir;
    const { parseStackConfig, ConfigError } = await import("../../config");
    const secrets: string[] = [];
    const warnings: string[] = [];
    let outputs: Record<string, unknown>;
    let config: Record<string, unknown>;
    let configSource: string;
    if (options.outputsFile === undefined && !options.workspace && !options.outputsOptional) {
        throw new UsageError(
            `--outputs is required: the Pulumi CLI is not on PATH, so ${options.command} cannot read the stack's outputs itself. ` +
                `Pass \`pulumi stack output --json --stack ${options.stack}\` as a file, or - for stdin.`,
        );
    }
    const project = readProjectFile(projectDir);
    let workspaceStack: WorkspaceStack | undefined;
    const selected = async () =>
        (workspaceStack ??= await fromPulumi(`select stack ${options.stack}`, () =>
            options.workspace!.selectStack(options.stack, projectDir),
        ));
    if (options.outputsFile !== undefined) {
        outputs = readOutputsFile(options.outputsFile);
    } else if (!options.workspace) {
        outputs = {}; // outputsOptional: the config alone
    } else {
        const read = await fromPulumi(`read the outputs of stack ${options.stack}`, async () => (await selected()).outputs());
        outputs = {};
        for (const [key, { value, secret }] of Object.entries(read)) {
            outputs[key] = value;
            if (secret) secrets.push(...leafStrings(value));
        }
    }
    // Config: the files when outputs came from a file or a config file is named; else the stack's own, decrypted.
    if (options.outputsFile !== undefined || options.configFile !== undefined || !options.workspace) {
        const files = readStackConfigFiles(project, options.stack, options.configFile);
        config = files.config;
        warnings.push(...files.warnings);
        configSource = options.configFile ?? path.join(projectDir, `Pulumi.${options.stack}.yaml`);
    } else {
        const read = await fromPulumi(`read the config of stack ${options.stack}`, async () => (await selected()).getAllConfig());
        const securePaths = securePathsOf(path.join(projectDir, `Pulumi.${options.stack}.yaml`), project.name);
        config = {};
        for (const [key, { value, secret }] of Object.entries(read)) {
            const decoded = decode(value);
            config[key] = decoded;
            if (secret) secrets.push(...secretStrings(key, decoded, securePaths));
        }
        // Defensive: a value still in its encrypted form is never sent on.
        config = hideSecrets(config).config;
        configSource = `stack ${options.stack} (pulumi config)`;
    }
    let settings: Settings;
    try {
        const parsed = parseStackConfig(config);
        settings = parsed.settings;
        warnings.push(...parsed.warnings);
    } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(`${configSource}: ${err.message}`);
        throw err;
    }
    const roleArns = new Map<string, string | undefined>(settings.targets.map((target) => [target.accountId, target.roleArn]));
    for (const entry of settings.stagingAccounts) if (!roleArns.get(entry.accountId)) roleArns.set(entry.accountId, entry.roleArn);
    // EC2 source accounts: verify reads the roles DRS requires there.
    for (const source of settings.stagingAccounts.flatMap((e) => e.ec2SourceAccounts))
        if (!roleArns.get(source.accountId)) roleArns.set(source.accountId, source.roleArn);
    // Failback origins: verify, initialize and drill --failback read DRS there.
    for (const entry of settings.stagingAccounts) {
        const origin = entry.failback?.accountId;
        if (origin && !roleArns.get(origin)) roleArns.set(origin, entry.failback?.roleArn);
    }
    const profiles = new Map<string, string>();
    for (const { accountId, profile } of [...settings.targets, ...settings.stagingAccounts])
        if (profile && !profiles.has(accountId)) profiles.set(accountId, profile);
    return {
        outputs,
        settings,
        roleArns,
        profiles,
        secrets,
        warnings,
        source: options.outputsFile === undefined && options.workspace ? "pulumi" : "files",
    };
}

/** `pulumi stack output --json` from a file or stdin: a JSON object, or a UsageError naming the file. */
export function readOutputsFile(file: string): Record<string, unknown> {
    const name = file === "-" ? "--outputs - (stdin)" : `--outputs ${file}`;
    const pass = "pass the output of `pulumi stack output --json`, as a file or - for stdin";
    let text: string;
    try {
        text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (err) {
        throw new UsageError(`${name}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${pass}.`);
    }
    let outputs: unknown;
    try {
        outputs = JSON.parse(text);
    } catch (err) {
        throw new UsageError(`${name}: is not JSON (${(err as Error).message}): ${pass}.`);
    }
    if (outputs === null || typeof outputs !== "object" || Array.isArray(outputs)) {
        const found = outputs === null ? "null" : Array.isArray(outputs) ? "an array" : `a ${typeof outputs}`;
        throw new UsageError(`${name}: is ${found}, not a JSON object of stack outputs: ${pass}.`);
    }
    return outputs as Record<string, unknown>;
}

/** A config value as the engine gives it to the program: JSON when it parses, the string otherwise (as the config module reads it). */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** Where the stack file holds `secure:` values (`key`, `key.a[0].b`); none when it cannot be read. */
function securePathsOf(file: string, project: string): string[] {
    try {
        return hideSecrets(readStackFile(file, project).config).secretKeys;
    } catch {
        return [];
    }
}

/**
 * The strings of a secret config value to keep out of what the command prints. Pulumi marks a
 * whole key secret when any value inside it is: the stack file says which ones are (a roleArn,
 * not the account IDs and Regions around it); without that, every string inside it.
 */
function secretStrings(key: string, value: unknown, securePaths: string[]): string[] {
    const inside = securePaths.filter((p) => p.startsWith(`${key}.`) || p.startsWith(`${key}[`));
    if (inside.length === 0) return leafStrings(value);
    return inside.flatMap((p) => leafStrings(valueAt(value, p.slice(key.length))));
}

/** The value at a path such as `.a[0].b` inside `value`. */
function valueAt(value: unknown, at: string): unknown {
    let current = value;
    for (const [, name, index] of at.matchAll(/\.([^.[]+)|\[(\d+)\]/g)) {
        if (current === null || typeof current !== "object") return undefined;
        current = (current as Record<string, unknown>)[name ?? index];
    }
    return current;
}

/** The strings inside a secret value: each is kept out of what the command prints. */
function leafStrings(value: unknown): string[] {
    if (typeof value === "string") return value === "" ? [] : [value];
    if (typeof value === "number" || typeof value === "boolean") return [String(value)];
    if (value !== null && typeof value === "object") return Object.values(value).flatMap(leafStrings);
    return [];
}

/** Runs a Pulumi CLI call; its failure is one line naming what it tried and the CLI's own error. */
async function fromPulumi<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
        return await call();
    } catch (err) {
        if (err instanceof UsageError) throw err;
        const lines = String((err as Error).message ?? err)
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean);
        // The CLI's own "error: ..." line says why; the Automation API wraps it in its exit code and streams.
        const line = lines.map((l) => /error:\s*(.+)/i.exec(l)?.[1]).find(Boolean) ?? lines[0] ?? "unknown error";
        throw new UsageError(`The Pulumi CLI could not ${what}: ${line} (log in with pulumi login, or pass --outputs).`);
    }
}
