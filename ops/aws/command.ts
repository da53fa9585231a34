// What verify and align-servers do before their first check: read the deployed stack, keep its
// secrets out of what they print, find the keys, and check once that the AWS credentials work.
import { AssumedRoleAccess, AwsAccess, ClientOptions, clientOptions, defaultTimeouts } from "./access";
import { Clock, Deadline, realClock } from "../clock";
import { DeployedStack, StackWorkspace, readDeployedStack } from "./deployedStack";
import { Io, redacting } from "../io";
import { UsageError } from "../../config/errors";
import { parseRoleArn } from "../../components/policies";
import { NoAwsAccess } from "./faults";
import { type StagingKeyExport, stagingKeysOf } from "../../program/contract";

export interface AwsCommandOptions {
    stack: string;
    /** `pulumi stack output --json` as a file or - (stdin); none: read from the stack with the Pulumi CLI. */
    outputsFile?: string;
    configFile?: string;
    json: boolean;
    /** --time-limit: the whole command, in minutes (default per command: defaultTimeLimits). */
    timeLimitMinutes?: number;
    /** --connect-timeout and --request-timeout, in seconds, for every AWS client. */
    connectTimeoutSeconds?: number;
    requestTimeoutSeconds?: number;
}

/** Minutes each command may run before what it has not done yet is given up (--time-limit). */
export const defaultTimeLimits: Record<string, number> = {
    verify: 30,
    "align-servers": 60,
    drill: 180,
    initialize: 30,
    extend: 60,
    "align-launch": 30,
};

/** AWS clients per account, given the role (and profile) per account, the command's name and the clients' options. */
export type AccessFactory = (
    roleArns: Map<string, string | undefined>,
    command: string,
    options: ClientOptions,
    profiles?: Map<string, string>,
) => AwsAccess;

export interface AwsCommandDeps {
    io: Io;
    /** The Pulumi CLI's workspace, when the CLI is installed. */
    workspace?: StackWorkspace;
    /** AWS clients per account (default: AssumedRoleAccess with the stack's roles and these client options). */
    access?: AccessFactory;
    /** Time, for the time limit and the commands' waits (the tests' fake clock). */
    clock?: Clock;
    /** Progress shows once the command has run this long. */
    progressDelayMs?: number;
    /** The project folder (Pulumi.yaml); default the repository root. */
    projectDir?: string;
}

export interface OpenedStack {
    stack: DeployedStack;
    keys: StagingKeyExport[];
    /** The command's streams, with the stack's secrets hidden. */
    io: Io;
    access: AwsAccess;
    /** The command's time limit, counted from here. */
    deadline: Deadline;
    clock: Clock;
}

/** How a command reads its stack: every command but initialize needs a deployed stack's keys. */
export interface StackReading {
    /**
     * The stack may have no outputs yet (initialize runs before the first `pulumi up`): without
     * --outputs and the Pulumi CLI it is read from its config alone, and no stagingKeys is no key.
     */
    outputsOptional?: boolean;
}

/**
 * Reads the stack and checks the credentials once. `checkFlags` judges the command's own flags
 * against the stack first, so a wrong flag is refused before any AWS call.
 */
export async function openStack(
    command: string,
    options: AwsCommandOptions,
    deps: AwsCommandDeps,
    checkFlags?: (stack: DeployedStack, keys: StagingKeyExport[]) => void,
    reading: StackReading = {},
): Promise<OpenedStack> {
    const stack = await readDeployedStack({
        stack: options.stack,
        outputsFile: options.outputsFile,
        configFile: options.configFile,
        projectDir: deps.projectDir,
        workspace: deps.workspace,
        command,
        outputsOptional: reading.outputsOptional,
    });
    const io = redacting(deps.io, stack.secrets);
    for (const warning of stack.warnings) io.err(`warning: ${warning}\n`);
    const { stagingKeys } = stack.outputs;
    const noKeysYet = stagingKeys === undefined || (Array.isArray(stagingKeys) && stagingKeys.length === 0);
    const keys = reading.outputsOptional && noKeysYet ? [] : stagingKeysOf(stack.outputs);
    checkFlags?.(stack, keys);
    const clientOpts = clientOptions({
        connectSeconds: options.connectTimeoutSeconds ?? defaultTimeouts.connectSeconds,
        requestSeconds: options.requestTimeoutSeconds ?? defaultTimeouts.requestSeconds,
    });
    const access =
        deps.access?.(stack.roleArns, command, clientOpts, stack.profiles) ??
        new AssumedRoleAccess(stack.roleArns, command, undefined, clientOpts, stack.profiles);
    const clock = deps.clock ?? realClock;
    const deadline = new Deadline(clock, options.timeLimitMinutes ?? defaultTimeLimits[command] ?? 60);
    if (access instanceof AssumedRoleAccess) {
        const { settings } = stack;
        const regions = [
            ...keys.map((k) => k.region),
            ...settings.stagingAccounts.map((e) => e.region),
            ...(settings.target.regions ?? []),
        ];
        try {
            await access.check(regions);
        } catch (err) {
            if (err instanceof NoAwsAccess) throw new UsageError(err.message);
            throw err;
        }
    }
    return { stack, keys, io, access, deadline, clock };
}

/**
 * The command line that resumes a run: the command, the stack and the files it was read from, the
 * command's own flags (`flags`: the empty ones are left out), then --apply and `after`.
 */
export function resumeCommand(
    command: string,
    options: AwsCommandOptions,
    flags: (string | false | undefined)[],
    after: (string | false | undefined)[] = [],
): string {
    return [
        `npm run -s ${command} --`,
        `-s ${options.stack}`,
        options.outputsFile && `--outputs ${options.outputsFile === "-" ? "<outputs file>" : options.outputsFile}`,
        options.configFile && `--config-file ${options.configFile}`,
        ...flags,
        "--apply",
        ...after,
    ]
        .filter(Boolean)
        .join(" ");
}

/**
 * --staging-role ARNs by account: roles to read staging accounts with where the config names none.
 * A value that is not a role ARN, or two for one account, is the command's usage error (`refuse`).
 */
/** The access factory with the --staging-role roles over the config's, for their accounts. */
export function withStagingRoles(stagingRoles: Map<string, string>, access: AccessFactory | undefined): AccessFactory {
    return (roleArns, command, options, profiles) => {
        const merged = new Map(roleArns);
        for (const [account, arn] of stagingRoles) merged.set(account, arn);
        return access ? access(merged, command, options, profiles) : new AssumedRoleAccess(merged, command, undefined, options, profiles);
    };
}

export function stagingRolesOf(arns: string[] = [], refuse: (message: string) => UsageError): Map<string, string> {
    const roles = new Map<string, string>();
    for (const arn of arns) {
        const role = parseRoleArn(arn);
        if (!role) throw refuse(`--staging-role ${arn}: not an IAM role ARN (arn:aws:iam::<account>:role/<name>).`);
        if (roles.has(role.accountId)) throw refuse(`--staging-role: two roles for account ${role.accountId}: give one.`);
        roles.set(role.accountId, arn);
    }
    return roles;
}
