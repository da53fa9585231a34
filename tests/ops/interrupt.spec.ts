// Ctrl-C in the commands that write (ops/io.ts interruptible): the first stops the command at its
// next step, and the handler is gone once the command ends.
import { expect } from "chai";
import { interruptible } from "../../ops/io";

describe("Ctrl-C in a command that writes", () => {
    const words = { first: "stopping before the next create", second: () => "Stopped at once." };

    it("aborts the command's signal at the first Ctrl-C, says what it does then, and removes its handler afterwards", async () => {
        let err = "";
        const io = { out: () => undefined, err: (t: string) => void (err += t) };
        const before = process.listenerCount("SIGINT");
        const aborted = await interruptible(io, true, words, undefined, async (signal) => {
            expect(process.listenerCount("SIGINT")).to.equal(before + 1);
            process.emit("SIGINT");
            return signal?.aborted;
        });
        expect(aborted).to.equal(true);
        expect(err).to.equal("\nInterrupted: stopping before the next create (Ctrl-C again to stop at once)...\n");
        expect(process.listenerCount("SIGINT")).to.equal(before);
    });

    it("leaves SIGINT alone and passes the caller's signal on when not enabled (a dry run, or a signal given)", async () => {
        const given = new AbortController().signal;
        const before = process.listenerCount("SIGINT");
        const passed = await interruptible({ out: () => undefined, err: () => undefined }, false, words, given, async (signal) => {
            expect(process.listenerCount("SIGINT")).to.equal(before);
            return signal;
        });
        expect(passed).to.equal(given);
    });
});
