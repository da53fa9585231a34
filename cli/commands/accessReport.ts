// access-report: who may do what on each key of a stack's plan, the key policy and the target's IAM
// policies evaluated together against the access model; no AWS.
import type { Io } from "../../ops/io";
import { UsageError } from "../../config/errors";
import { CliDeps, configFileFlag, couldNotRun, defineCommand, jsonFlag, stackFlag } from "../flags";
import { readPrices } from "../shared";

const flags = [stackFlag, jsonFlag("the checks as an array"), configFileFlag] as const;

export const accessReport = defineCommand({
    flags,
    exitCodes: `0 no mismatch, 1 a request is allowed or denied against the access model, ${couldNotRun}`,
    help: () => ["Examples:", "  npm run -s access-report -- -s target", "  npm run -s access-report -- -s staging --json"],
    async run(options, { io, deps }) {
        const format = options.json ? "json" : "text";
        const { result } = await planOf(options, format, io, deps);
        const { accessReport, formatAccessReport, mismatches } = await import("../../plan/accessReport");
        const checks = await accessReport(result);
        io.out(format === "json" ? `${JSON.stringify(checks, null, 2)}\n` : `${formatAccessReport(checks)}\n`);
        return mismatches(checks).length > 0 ? 1 : 0;
    },
});

interface PlanFlags {
    stack?: string;
    configFile?: string;
    prices?: string;
    servers?: string[];
}

/** The stack's offline plan, with the prices and servers its cost and capacity are for (synth and access-report). */
export async function planOf(options: PlanFlags, format: string, io: Io, deps: CliDeps) {
    const estimate = await estimateOptions(options, format);
    const { synthesize } = await import("../../plan/synth");
    const result = await synthesize(options.stack!, { configFile: options.configFile, projectDir: deps.projectDir });
    if (format !== "mermaid") {
        // Without --prices, the stack's own pricing config (checked by the program's run).
        const { pricesFor, pricingConfigKey } = await import("../../plan/pricing");
        estimate.prices = pricesFor(estimate.prices, result.config?.[pricingConfigKey]);
    }
    for (const warning of result.warnings) io.err(`warning: ${warning}\n`);
    return { result, estimate };
}

/** --prices and --servers for the plan's cost and capacity; they say nothing to a picture. */
async function estimateOptions(options: PlanFlags, format: string): Promise<import("../../plan/document").EstimateOptions> {
    const given = (["prices", "servers"] as const).filter((o) => options[o] !== undefined).map((o) => `--${o}`);
    if (format === "mermaid" && given.length > 0)
        throw new UsageError(`${given.join(" and ")} go with --format json or text, not mermaid.`);
    const { PricesError, parseServerCount } = await import("../../plan/pricing");
    try {
        return { prices: await readPrices(options.prices), servers: parseServerCount(options.servers) };
    } catch (err) {
        if (err instanceof PricesError) throw new UsageError(err.message);
        throw err;
    }
}
