// synth: the offline plan of a stack, as JSON, text or a Mermaid picture; no AWS, no Pulumi CLI.
import { UsageError } from "../../config/errors";
import { plural } from "../../config/text";
import { configFileFlag, couldNotRun, defineCommand, jsonFlag, pricesFlag, stackFlag } from "../flags";
import { planOf } from "./accessReport";
import { writeFile } from "../shared";
import * as path from "path";

const flags = [
    stackFlag,
    {
        flags: "--format <format>",
        kind: "value",
        choices: ["json", "text", "mermaid"],
        help: "json: the plan with its monthly cost and quota use (default); text: in words, then the access report; mermaid: who may do what, as a Mermaid flowchart",
    },
    jsonFlag("the plan; the same as --format json"),
    pricesFlag,
    {
        flags: "--servers <n>",
        kind: "list",
        help: "replicating servers: DRS's own monthly charge and the staging capacity they need (a total, or <region>=<n>, comma-separated)",
    },
    {
        flags: "--out <file>",
        kind: "value",
        help: "write to this file instead of stdout (a missing folder is created); one line on stderr names it and what it holds",
    },
    { flags: "--policies-dir <dir>", kind: "value", help: "also write every policy document there as <resource name>.json" },
    configFileFlag,
] as const;

export const synth = defineCommand({
    flags,
    exitCodes: `0 planned, ${couldNotRun}`,
    help: () => [
        "Config as `pulumi up` reads it: Pulumi.yaml's project config (values and declared defaults) under the",
        'stack file\'s. A `secure:` value cannot be decrypted here: the plan runs with "[secret]" in its place,',
        "says so on stderr and lists the key in secretConfigKeys; its value is never printed.",
        "",
        "Examples:",
        "  npm run -s synth -- -s staging",
        "  npm run -s synth -- --stack=target --format text",
        "  npm run -s synth -- -s target --out plans/target.json --policies-dir plans/policies",
        "  npm run -s synth -- -s target --format text --servers 450 --prices examples/prices.example.json",
        "  npm run -s synth -- -s target --format mermaid > access-map.mmd",
        "",
        "Cost: list prices from plan/pricing.ts (each figure with its source and the date read), replaced by",
        '--prices (e.g. {"drsServerHour": {"us-east-1": 0.03}}; examples/prices.example.json has example figures,',
        "not current AWS prices: copy it and put your rates in it). Quotas: plan/quotas.ts. docs/cost-and-quotas.md.",
    ],
    async run(options, { io, deps }) {
        // --json means --format json; both with another format is a contradiction.
        const { format: given, json } = options;
        if (json && given && given !== "json") throw new UsageError(`--json and --format ${given} contradict each other: give one.`);
        const format = json ? "json" : ((given ?? "json") as "json" | "text" | "mermaid");
        const { result, estimate } = await planOf(options, format, io, deps);
        let text: string;
        if (format === "mermaid") {
            // The picture needs neither the simulator nor the plan's words.
            const { accessMap } = await import("../../plan/accessMap");
            text = accessMap(result);
        } else {
            const { accessReport, formatAccessReport } = await import("../../plan/accessReport");
            const { formatEstimate, formatPlanText } = await import("../../plan/text");
            const { planDocument } = await import("../../plan/document");
            text =
                format === "json"
                    ? `${JSON.stringify(planDocument(result, estimate), null, 2)}\n`
                    : `${formatPlanText(result)}\n\n${formatEstimate(result, estimate)}\n\n${formatAccessReport(await accessReport(result))}\n`;
        }
        const { policyDocuments } = await import("../../plan/text");
        if (options.policiesDir) {
            const dir = options.policiesDir;
            const documents = policyDocuments(result);
            for (const [file, doc] of documents)
                writeFile("--policies-dir", path.join(dir, `${file}.json`), `${JSON.stringify(doc, null, 2)}\n`);
            io.err(`wrote ${plural(documents.size, "policy document")} to ${dir}, one <resource name>.json each\n`);
        }
        if (options.out) {
            writeFile("--out", options.out, text);
            // A file written without a word would look like nothing happened: say which, and what is in it.
            io.err(`wrote ${options.out}: ${contentsOf(format, result.plan.stack, result.plan.resources.length)}\n`);
        } else io.out(text);
        return 0;
    },
});

/** What --out holds, in a few words. */
function contentsOf(format: "json" | "text" | "mermaid", stack: string, resources: number): string {
    const plan = `the offline plan of stack ${stack} (${plural(resources, "resource")})`;
    if (format === "json") return `${plan} as JSON, with its monthly cost and quota use`;
    if (format === "text") return `${plan} in words, its monthly cost, quotas and access report`;
    return `the access map of stack ${stack}, a Mermaid flowchart`;
}
