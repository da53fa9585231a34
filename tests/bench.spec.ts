// npm run bench takes minutes: it says what it measures, run by run, on stderr.
import { expect } from "chai";
import { measureAll } from "../scripts/bench";

describe("npm run bench", () => {
    it("announces each run on stderr, n of m, with what it measures, and takes the medians", () => {
        const lines: string[] = [];
        let n = 0;
        const medians = measureAll(
            [
                ["floor", ["-e", "0"]],
                ["(a) plan", ["synth"]],
            ],
            3,
            () => ({ seconds: ++n, peakMb: 100 + n }),
            (line) => lines.push(line),
        );
        expect(lines).to.deep.equal([
            "bench: 1 of 6: floor (round 1 of 3)\n",
            "bench: 2 of 6: (a) plan (round 1 of 3)\n",
            "bench: 3 of 6: floor (round 2 of 3)\n",
            "bench: 4 of 6: (a) plan (round 2 of 3)\n",
            "bench: 5 of 6: floor (round 3 of 3)\n",
            "bench: 6 of 6: (a) plan (round 3 of 3)\n",
        ]);
        expect(medians).to.deep.equal([
            { seconds: 3, peakMb: 103 },
            { seconds: 4, peakMb: 104 },
        ]);
    });
});
