// The dev commands:
//   npm run synth -- --stack <name> [--config-file <path>] [--out <file>] [--format json|text] [--policies-dir <dir>]
//   npm run access-report -- --stack <name> [--config-file <path>]
import * as fs from "fs";
import * as path from "path";
import { accessReport, formatAccessReport, mismatches } from "./accessReport";
import { formatPlanText, policyDocuments } from "./planText";
import { SynthError, synthesize } from "./synth";

const usage = {
    synth: "usage: npm run synth -- --stack <name> [--config-file <path>] [--out <file>] [--format json|text] [--policies-dir <dir>]",
    "access-report": "usage: npm run access-report -- --stack <name> [--config-file <path>]",
};

export function parseArgs(argv: string[], known: string[]): Record<string, string> {
    const args: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (flag === "--help" || flag === "-h") {
            args.help = "true";
            continue;
        }
        const name = flag.replace(/^--/, "");
        if (!flag.startsWith("--") || !known.includes(name) || argv[i + 1] === undefined) throw new SynthError(`Unknown or incomplete argument ${flag}.`);
        args[name] = argv[++i];
    }
    return args;
}

/** Exit codes: 0 done, 1 the access report found a mismatch, 2 a user mistake (config, arguments). */
async function main(command: string, argv: string[]): Promise<number> {
    if (command !== "synth" && command !== "access-report") throw new SynthError(`Unknown command ${command}: synth or access-report.`);
    const args = parseArgs(argv, command === "synth" ? ["stack", "config-file", "out", "format", "policies-dir"] : ["stack", "config-file"]);
    if (args.help) {
        process.stdout.write(`${usage[command]}\n`);
        return 0;
    }
    if (!args.stack) throw new SynthError(`--stack is required.\n${usage[command]}`);
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
