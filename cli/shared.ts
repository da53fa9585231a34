// What several commands do with their flags: numbers in range, the price file, files the user
// named, the options every AWS command takes, --print-policy. Usage errors name the flag.
import * as fs from "fs";
import * as path from "path";
import type { AwsCommandDeps, AwsCommandOptions } from "../ops/aws/command";
import type { StackWorkspace } from "../ops/aws/deployedStack";
import { UsageError } from "../config/errors";
import type { CommandContext, OptionsOf, awsFlags, configFileFlag, jsonFlag, outputsFlag, stackFlag } from "./flags";

/** A number flag (minutes, seconds, days, servers) above `min` (or at it, for a minimum of 1) and at most `max`; a usage error names it. */
export function amountOf(given: string | undefined, flag: string, unit: string, min: number, max: number): number | undefined {
    if (given === undefined) return undefined;
    const n = Number(given);
    const ok = typeof given === "string" && given.trim() !== "" && Number.isFinite(n) && (min >= 1 ? n >= min : n > min) && n <= max;
    if (!ok)
        throw new UsageError(
            `${flag} ${String(given)}: give the ${unit}, ${min >= 1 ? `${min} or more` : `more than ${min}`} and at most ${max}.`,
        );
    return n;
}

/** --batch as a whole number of servers, 1 to 300; it only means something with --apply. */
export function batchOf(given: string | undefined, apply: boolean | undefined, dryRunDoes: string): number | undefined {
    const batch = amountOf(given, "--batch", "servers", 1, 300);
    if (batch !== undefined && !Number.isInteger(batch)) throw new UsageError(`--batch ${given}: give a whole number of servers.`);
    if (batch !== undefined && !apply) throw new UsageError(`--batch goes with --apply: a dry run ${dryRunDoes}.`);
    return batch;
}

/** --prices as a price table (the list prices without it); a file that is not one is a usage error. */
export async function readPrices(file: string | undefined): Promise<import("../plan/pricing").PriceTable | undefined> {
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

/** Writes a file the user named, creating its folder; a failure is one line naming the flag. */
export function writeFile(flag: string, file: string, text: string): void {
    try {
        fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        fs.writeFileSync(file, text);
    } catch (err) {
        throw new UsageError(`${flag} ${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
    }
}

/** The flags every AWS command has. */
type AwsOptions = OptionsOf<
    readonly [typeof stackFlag, typeof outputsFlag, typeof configFileFlag, ReturnType<typeof jsonFlag>, ...typeof awsFlags]
>;

/**
 * What every AWS command takes (the stack, its outputs and config, --json, its limits) and how it
 * reaches AWS; undefined after --print-policy, which has printed what the command needs.
 */
export async function awsCommand(
    options: AwsOptions,
    { name, io, deps }: CommandContext,
): Promise<{ common: AwsCommandOptions; awsDeps: AwsCommandDeps } | undefined> {
    if (options.printPolicy !== undefined) {
        await printPolicy(name, options.printPolicy, io);
        return undefined;
    }
    const workspace = deps.workspace === undefined ? await defaultWorkspace() : (deps.workspace ?? undefined);
    const common: AwsCommandOptions = {
        stack: options.stack!,
        outputsFile: options.outputs,
        configFile: options.configFile,
        json: Boolean(options.json),
        timeLimitMinutes: amountOf(options.timeLimit, "--time-limit", "minutes", 0, 7 * 24 * 60),
        connectTimeoutSeconds: amountOf(options.connectTimeout, "--connect-timeout", "seconds", 0, 600),
        requestTimeoutSeconds: amountOf(options.requestTimeout, "--request-timeout", "seconds", 0, 3600),
    };
    const awsDeps: AwsCommandDeps = {
        io,
        workspace,
        access: deps.access,
        progressDelayMs: deps.progressDelayMs ?? 1000,
        projectDir: deps.projectDir,
        clock: deps.clock,
    };
    return { common, awsDeps };
}

/** --print-policy [identity]: the IAM policy the command needs, as JSON, with no stack and no AWS. */
async function printPolicy(name: string, identity: string | true, io: CommandContext["io"]): Promise<void> {
    const { commandPermissions, printedPolicy } = await import("../ops/permissions");
    const command = name as keyof typeof commandPermissions;
    const id = identity === true ? undefined : String(identity);
    const policy = printedPolicy(command, id);
    if (policy === undefined)
        throw new UsageError(
            `--print-policy ${id}: not an identity of ${name} (${commandPermissions[command].map((i) => i.id).join(", ")}).`,
        );
    io.out(`${JSON.stringify(policy, null, 2)}\n`);
}

async function defaultWorkspace(): Promise<StackWorkspace | undefined> {
    const { localWorkspace, pulumiOnPath } = await import("../ops/aws/deployedStack");
    return pulumiOnPath() ? localWorkspace : undefined;
}
