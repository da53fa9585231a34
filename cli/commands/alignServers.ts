// align-servers: moves the source servers replicating into each staging account onto that
// account's staging key; a dry run unless --apply.
import { awsFlags, configFileFlag, couldNotRun, defineCommand, jsonFlag, outputsFlag, someUnchecked, stackFlag } from "../flags";
import { awsCommand, batchOf } from "../shared";

const flags = [
    stackFlag,
    outputsFlag,
    { flags: "--server <id>", kind: "list", help: "only this source server (repeat it, or comma-separate IDs)" },
    { flags: "--apply", kind: "switch", help: "make the changes; without it, a dry run that changes nothing" },
    {
        flags: "--batch <n>",
        kind: "value",
        help: "with --apply, move n servers, wait until each has a point in time on the key, then the next n",
    },
    { flags: "--include-unencrypted", kind: "switch", help: "also move servers that replicate unencrypted (NONE) onto the key" },
    jsonFlag("the plan, and the results with --apply; progress on stderr"),
    configFileFlag,
    ...awsFlags,
] as const;

export const alignServers = defineCommand({
    flags,
    identities: "staging, you",
    exitCodes: `0 nothing to move (or everything moved), 1 servers to move (dry run), a server failed, or a run stopped with servers left, ${couldNotRun}, ${someUnchecked}`,
    help: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { alignServersHelp } = require("../../ops/align-servers") as typeof import("../../ops/align-servers");
        return [alignServersHelp()];
    },
    async run(options, context) {
        const aws = await awsCommand(options, context);
        if (!aws) return 0;
        const batch = batchOf(options.batch, options.apply, "moves nothing");
        const { alignServersCommand } = await import("../../ops/align-servers");
        return alignServersCommand(
            {
                ...aws.common,
                apply: Boolean(options.apply),
                servers: options.server,
                includeUnencrypted: Boolean(options.includeUnencrypted),
                batch,
            },
            aws.awsDeps,
        );
    },
});
