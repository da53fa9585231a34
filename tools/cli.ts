// The dev commands:
//   npm run synth -- --stack <name> [--config-file <path>] [--out <file>] [--format json|text] [--policies-dir <dir>]
//   npm run access-report -- --stack <name> [--config-file <path>]
//   npm run verify -- --stack <name> --outputs <file|-> [--config-file <path>] [--json]
//   npm run align-servers -- --stack <name> --outputs <file|-> [--config-file <path>] [--server <id>]... [--apply] [--json]
import * as fs from "fs";
import * as path from "path";
import { accessReport, formatAccessReport, mismatches } from "./accessReport";
import { formatPlanText, policyDocuments } from "./planText";
import { readDeployedStack } from "./deployedStack";
import { SynthError, synthesize } from "./synth";

const usage = {
    synth: "usage: npm run synth -- --stack <name> [--config-file <path>] [--out <file>] [--format json|text] [--policies-dir <dir>]",
    "access-report": "usage: npm run access-report -- --stack <name> [--config-file <path>]",
    verify: "usage: npm run -s verify -- --stack <name> --outputs <file|-> [--config-file <path>] [--json]",
};

/**
 * `flags` take no value ("true" when given); a `repeatable` flag's values are joined with commas
 * (`--server a --server b` is `--server a,b`).
 */
export function parseArgs(argv: string[], known: string[], spec: { flags?: string[]; repeatable?: string[] } = {}): Record<string, string> {
    const args: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (flag === "--help" || flag === "-h") {
            args.help = "true";
            continue;
        }
        const name = flag.replace(/^--/, "");
        if (flag.startsWith("--") && known.includes(name) && spec.flags?.includes(name)) {
            args[name] = "true";
            continue;
        }
        if (!flag.startsWith("--") || !known.includes(name) || argv[i + 1] === undefined)
            throw new SynthError(`Unknown or incomplete argument ${flag}.`);
        const value = argv[++i];
        args[name] = spec.repeatable?.includes(name) && args[name] !== undefined ? `${args[name]},${value}` : value;
    }
    return args;
}

const knownArgs = {
    synth: ["stack", "config-file", "out", "format", "policies-dir"],
    "access-report": ["stack", "config-file"],
    verify: ["stack", "config-file", "outputs", "json"],
    "align-servers": ["stack", "config-file", "outputs", "apply", "json", "server"],
};

/** align-servers' boolean and repeatable flags. */
const argSpecs: Record<string, { flags?: string[]; repeatable?: string[] }> = {
    verify: { flags: ["json"] },
    "align-servers": { flags: ["apply", "json"], repeatable: ["server"] },
};

/** Exit codes: 0 done, 1 a check failed (access report, verify), 2 could not run (config, arguments, credentials). */
async function main(command: string, argv: string[]): Promise<number> {
    if (command === "align-servers") return runAlignServers(parseArgs(argv, knownArgs[command], argSpecs[command]));
    if (command !== "synth" && command !== "access-report" && command !== "verify") {
        throw new SynthError(`Unknown command ${command}: synth, access-report, verify or align-servers.`);
    }
    const args = parseArgs(argv, knownArgs[command], argSpecs[command]);
    if (args.help) {
        process.stdout.write(`${command === "verify" ? (await import("./verify")).verifyHelp(usage.verify) : usage[command]}\n`);
        return 0;
    }
    if (!args.stack) throw new SynthError(`--stack is required.\n${usage[command]}`);
    if (command === "verify") return runVerify(args);
    const format = args.format ?? "json";
    if (format !== "json" && format !== "text") throw new SynthError("--format must be json or text.");
    const result = await synthesize(args.stack, { configFile: args["config-file"] });
    for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
    if (command === "access-report") {
        const checks = await accessReport(result);
        process.stdout.write(`${formatAccessReport(checks)}\n`);
        return mismatches(checks).length > 0 ? 1 : 0;
    }
    const text =
        format === "json"
            ? `${JSON.stringify(result.plan, null, 2)}\n`
            : `${formatPlanText(result)}\n\n${formatAccessReport(await accessReport(result))}\n`;
    if (args["policies-dir"]) {
        fs.mkdirSync(args["policies-dir"], { recursive: true });
        for (const [name, doc] of policyDocuments(result)) {
            fs.writeFileSync(path.join(args["policies-dir"], `${name}.json`), `${JSON.stringify(doc, null, 2)}\n`);
        }
    }
    if (args.out) fs.writeFileSync(args.out, text);
    else process.stdout.write(text);
    return 0;
}

async function runVerify(args: Record<string, string>): Promise<number> {
    // The AWS SDK loads only for this command.
    const { verify, formatResults, CannotVerify } = await import("./verify");
    const { AssumedRoleAccess } = await import("./awsAccess");
    if (!args.outputs) throw new SynthError(`--outputs is required.\n${usage.verify}`);
    const { outputs, settings, roleArns } = readDeployedStack(args.stack, args.outputs, args["config-file"]);
    try {
        const results = await verify({ settings, outputs, stack: args.stack }, new AssumedRoleAccess(roleArns, "verify"));
        process.stdout.write(args.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatResults(results)}\n`);
        if (results.every((r) => r.status === "WARN" && r.message.startsWith("Not verified"))) return 2;
        return results.some((r) => r.status === "FAIL") ? 1 : 0;
    } catch (err) {
        if (err instanceof CannotVerify) throw new SynthError(err.message);
        throw err;
    }
}

async function runAlignServers(args: Record<string, string>): Promise<number> {
    // The AWS SDK loads only for this command; the command itself lives in alignServers.ts.
    const { alignServersCommand, CannotAlign } = await import("./alignServers");
    try {
        return await alignServersCommand(args, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
    } catch (err) {
        if (err instanceof CannotAlign) throw new SynthError(err.message);
        throw err;
    }
}

if (require.main === module) {
    const [command, ...argv] = process.argv.slice(2);
    main(command, argv).then(
        (code) => (process.exitCode = code),
        (err) => {
            if (!(err instanceof SynthError)) throw err;
            process.stderr.write(`error: ${err.message}\n`);
            process.exitCode = 2;
        },
    );
}
