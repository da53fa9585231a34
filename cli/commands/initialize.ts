// initialize: being written (a placeholder so the command table compiles).
import { couldNotRun, defineCommand, stackFlag } from "../flags";

const flags = [stackFlag] as const;

export const initialize = defineCommand({
    flags,
    exitCodes: couldNotRun,
    help: () => [],
    async run() {
        return 2;
    },
});
