// verify: read-only checks, against AWS, that a deployed stack works.
import {
    awsFlags,
    configFileFlag,
    couldNotRun,
    defineCommand,
    jsonFlag,
    outputsFlag,
    pricesFlag,
    someUnchecked,
    stackFlag,
} from "../flags";
import { amountOf, awsCommand, readPrices } from "../shared";

const flags = [
    stackFlag,
    outputsFlag,
    configFileFlag,
    pricesFlag,
    {
        flags: "--max-drill-age <days>",
        kind: "value",
        help: "a server last drilled or recovered longer ago is unproven again (default 90)",
    },
    {
        flags: "--max-lag <minutes>",
        kind: "value",
        help: "server-readiness: a server whose replication lags more is behind (default 30)",
    },
    {
        flags: "--max-snapshot-age <minutes>",
        kind: "value",
        help: "server-readiness: a server whose latest point in time is older is behind (default 30)",
    },
    jsonFlag("the results as an array"),
    ...awsFlags,
] as const;

export const verify = defineCommand({
    flags,
    identities: "staging, target, you",
    exitCodes: `0 every check ran and none failed (warnings included), 1 a check failed, ${couldNotRun} or no check could run, ${someUnchecked}`,
    help: () => {
        // The check catalogue is in ops/verify, which loads the AWS SDK: only for this help.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { verifyHelp } = require("../../ops/verify") as typeof import("../../ops/verify");
        return [
            verifyHelp(),
            "",
            "Examples:",
            "  npm run -s verify -- -s staging                       # with the Pulumi CLI: reads the stack itself",
            "  pulumi stack output --json --stack staging | npm run -s verify -- -s staging --outputs -",
            "  npm run -s verify -- -s target --outputs outputs.json --json",
            "  npm run -s verify -- -s target --max-lag 15 --max-snapshot-age 20   # stricter readiness",
        ];
    },
    async run(options, context) {
        const aws = await awsCommand(options, context);
        if (!aws) return 0;
        const { verifyCommand } = await import("../../ops/verify");
        return verifyCommand(
            {
                ...aws.common,
                prices: await readPrices(options.prices),
                maxDrillAgeDays: amountOf(options.maxDrillAge, "--max-drill-age", "days", 0, 3650),
                maxLagMinutes: amountOf(options.maxLag, "--max-lag", "minutes", 0, 7 * 24 * 60),
                maxSnapshotAgeMinutes: amountOf(options.maxSnapshotAge, "--max-snapshot-age", "minutes", 0, 7 * 24 * 60),
            },
            aws.awsDeps,
        );
    },
});
