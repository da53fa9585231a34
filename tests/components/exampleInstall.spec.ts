// examples/consumer as its README and docs/components.md say to run it, in a checkout whose
// components are not built: `npm ci && npm test`, once. Its dependency is file:../../components,
// installed as a copy (.npmrc install-links): npm runs the package's prepare script (tsc, from the
// root's node_modules) as it copies it in, so the copy has its dist/. About 20 seconds, and npm
// ci needs the example's packages in the npm cache (--offline): run with TEST_EXAMPLE_INSTALL=1.
import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..", "..");

(process.env.TEST_EXAMPLE_INSTALL ? describe : describe.skip)("examples/consumer, as documented (TEST_EXAMPLE_INSTALL=1)", () => {
    it("passes `npm ci && npm test` in a checkout whose components are not built yet", function () {
        this.timeout(300_000);
        // A checkout: the tracked files of components/ (no dist/), the root tsconfig and node_modules (after the root's npm ci), the example.
        const checkout = fs.mkdtempSync(path.join(os.tmpdir(), "drs-checkout-"));
        const tracked = execFileSync("git", ["ls-files", "components", "examples/consumer", "tsconfig.json"], {
            cwd: root,
            encoding: "utf8",
        })
            .split("\n")
            .filter(Boolean);
        for (const file of tracked) {
            fs.mkdirSync(path.dirname(path.join(checkout, file)), { recursive: true });
            fs.copyFileSync(path.join(root, file), path.join(checkout, file));
        }
        fs.symlinkSync(path.join(root, "node_modules"), path.join(checkout, "node_modules"));
        expect(fs.existsSync(path.join(checkout, "components", "dist"))).to.equal(false);
        const example = path.join(checkout, "examples", "consumer");
        const npm = (...args: string[]) => spawnSync("npm", args, { cwd: example, encoding: "utf8" });
        const ci = npm("ci", "--offline", "--no-audit", "--no-fund");
        expect(ci.status, ci.stderr).to.equal(0);
        const test = npm("test");
        expect(test.status, `${test.stdout}\n${test.stderr}`).to.equal(0);
        expect(test.stdout).to.match(/\d+ passing/);
    });
});
