// npm run test:example: builds the components package, packs it as `npm pack` would publish it,
// installs the tarball into examples/consumer, then type-checks and tests that project against it.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..");
const components = path.join(root, "components");
const consumer = path.join(root, "examples", "consumer");
const run = (command: string, args: string[], cwd: string) => execFileSync(command, args, { cwd, stdio: "inherit" });

fs.rmSync(path.join(components, "dist"), { recursive: true, force: true });
run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], components);
const packDir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-pack-"));
const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: components, encoding: "utf8" }))[0];
const tarball = path.join(packDir, packed.filename);
console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${packed.size} bytes`);
// Peers (@pulumi/pulumi, @pulumi/aws) resolve from the repository's own node_modules, as they
// would from the consumer's; the package itself has no other dependency.
fs.rmSync(path.join(consumer, "node_modules"), { recursive: true, force: true });
run(
    "npm",
    ["install", "--no-save", "--no-package-lock", "--legacy-peer-deps", "--ignore-scripts", "--no-audit", "--no-fund", tarball],
    consumer,
);
run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json"], consumer);
run(
    process.execPath,
    [require.resolve("mocha/bin/mocha.js"), "--no-config", "--require", "sucrase/register/ts", "--extension", "ts", "consumer.spec.ts"],
    consumer,
);
