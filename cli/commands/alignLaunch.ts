// align-launch: being written (a placeholder so the command table compiles).
import { couldNotRun, defineCommand, stackFlag } from "../flags";

const flags = [stackFlag] as const;

export const alignLaunch = defineCommand({
    flags,
    exitCodes: couldNotRun,
    help: () => [],
    async run() {
        return 2;
    },
});
