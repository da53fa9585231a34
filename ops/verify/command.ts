// The verify command as the CLI runs it: the stack read and the credentials checked once (shared
// with align-servers), then the run, with progress on stderr, and the results printed.
import { AwsCommandDeps, AwsCommandOptions, openStack } from "../aws/command";
import { delayedProgress } from "../io";
import { PriceTable } from "../../plan/pricing";
import { exitCodeOf, formatResults } from "./report";
import { verify } from "./run";
import { CheckResult } from "./types";

/**
 * The command as the CLI runs it: reads the stack (its own outputs and config through the Pulumi
 * CLI, or the files given), checks the credentials once, runs every check with progress on
 * stderr, and prints the results. Exit code: exitCodeOf (0, 1, 3), or 2 when no check could run.
 */
export async function verifyCommand(
    options: AwsCommandOptions & { prices?: PriceTable; maxDrillAgeDays?: number; maxLagMinutes?: number; maxSnapshotAgeMinutes?: number },
    deps: AwsCommandDeps,
): Promise<number> {
    const { stack, io, access, deadline, clock } = await openStack("verify", options, deps);
    const prices = options.prices;
    const progress = delayedProgress(io, deps.progressDelayMs ?? 1000);
    let results: CheckResult[];
    try {
        results = await verify(
            {
                settings: stack.settings,
                outputs: stack.outputs,
                stack: options.stack,
                outputsFile: options.outputsFile,
                prices,
                maxDrillAgeDays: options.maxDrillAgeDays,
                maxLagMinutes: options.maxLagMinutes,
                maxSnapshotAgeMinutes: options.maxSnapshotAgeMinutes,
            },
            access,
            { progress: progress.update, deadline, clock },
        );
    } finally {
        progress.done();
    }
    io.out(options.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatResults(results)}\n`);
    const code = exitCodeOf(results);
    if (code === 2) io.err("error: no check could run: see the first result for why.\n");
    const unchecked = results.filter((r) => r.status === "UNCHECKED").length;
    if (code === 3)
        io.err(`warning: ${unchecked} check${unchecked === 1 ? "" : "s"} could not run (UNCHECKED, with why): not a pass. Exit code 3.\n`);
    return code;
}
