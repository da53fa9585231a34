// initialize: whether DRS is initialised in each account and Region of the stack; --apply
// initialises it where it is not. Runs on the stack's config alone before its first `pulumi up`.
import { awsFlags, configFileFlag, couldNotRun, defineCommand, jsonFlag, outputsFlag, someUnchecked, stackFlag } from "../flags";
import { awsCommand } from "../shared";

const flags = [
    stackFlag,
    {
        ...outputsFlag,
        help: "`pulumi stack output --json` of the stack, as a file or - for stdin; optional: without it and without the Pulumi CLI, the stack config alone",
    },
    {
        flags: "--apply",
        kind: "switch",
        help: "call InitializeService where DRS is not initialised; without it, a dry run that changes nothing",
    },
    jsonFlag("the plan per account and Region, and the results with --apply; progress on stderr"),
    configFileFlag,
    ...awsFlags,
] as const;

export const initialize = defineCommand({
    flags,
    identities: "staging, target, you",
    exitCodes: `0 DRS initialised everywhere (or by this run), 1 some places not initialised (dry run), a place failed, or a run stopped with places left, ${couldNotRun}, ${someUnchecked}`,
    help: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { initializeHelp } = require("../../ops/initialize") as typeof import("../../ops/initialize");
        return [initializeHelp()];
    },
    async run(options, context) {
        const aws = await awsCommand(options, context);
        if (!aws) return 0;
        const { initializeCommand } = await import("../../ops/initialize");
        return initializeCommand({ ...aws.common, apply: Boolean(options.apply) }, aws.awsDeps);
    },
});
