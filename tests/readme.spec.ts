// What the README and the package docs tell a new user before the first command: the versions to install.
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { importThenUpdateCli } from "../config/advice";

const root = path.join(__dirname, "..");
const text = (page: string) => fs.readFileSync(path.join(root, page), "utf8").replace(/\s+/g, " ");

describe("the docs' requirements", () => {
    it("state the minimum Pulumi CLI, the one the config's warnings name, where each page first needs the CLI", () => {
        expect(importThenUpdateCli).to.equal("3.175.0");
        for (const page of ["README.md", "components/README.md", "docs/components.md"])
            expect(text(page), page).to.include(`Pulumi CLI ${importThenUpdateCli} or later`);
        expect(text("README.md")).to.include(`The [Pulumi CLI](https://www.pulumi.com/docs/install/), **${importThenUpdateCli} or later**`);
        expect(text("examples/consumer/README.md")).to.include(`pulumi version # ${importThenUpdateCli} or later`);
        // Where the README first names the CLI, the version follows in the same sentence, before any `pulumi` command.
        const readme = text("README.md");
        const version = readme.indexOf(`Pulumi CLI ${importThenUpdateCli} or later`);
        expect(version - readme.indexOf("Pulumi CLI")).to.be.within(0, 100);
        expect(version).to.be.lessThan(readme.indexOf("pulumi login"));
    });
});
