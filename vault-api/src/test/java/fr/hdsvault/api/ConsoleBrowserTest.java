package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real browser (Debian's headless Chromium driven by Selenium), over the
 * vault's real HTTPS: Chromium trusts exactly the vault's certificate (its public key pinned).
 * For each role, what it sees and what it must not: the auditor searches the trail, opens an
 * event and checks its inclusion proof in the browser, reads the alerts and runs the evidence
 * checks; the operator sees backup sets and drills with their RTO/RPO chart, and no trail; a
 * patient sees who accessed its record, break-glass marked, and nothing of another patient; a
 * practitioner has no page. No page shows a patient's name. Screenshots of each page are kept in
 * target/console-screenshots.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SHOTS = Path.of("target", "console-screenshots");
    static final String FAMILY_A = "Consolidae";
    static final String FAMILY_B = "Navigateur";

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TestTokens tokens;
    static String patientA;
    static String patientB;
    static ChromeDriver browser;
    static WebDriverWait wait;

    @BeforeAll
    static void start() throws Exception {
        requireChromium();
        vault = new VaultHttps(dir.resolve("vault"), Map.of("vault.audit.checkpoint-interval", "1s",
                "vault.security.break-glass.enabled", "true"));
        tokens = TestTokens.ofVault(vault.dataDir);
        String practitioner = tokens.sign("dr-console", "practitioner", "user/*.cruds", null);
        patientA = created(practitioner, FAMILY_A);
        patientB = created(practitioner, FAMILY_B);
        // A practitioner in patient B's context breaks the glass to read patient A's record.
        String inContextOfB = tokens.sign("dr-console", "practitioner", "launch/patient patient/*.cruds", patientB);
        HttpResponse<String> breakGlass = vault.send("GET", "/fhir/Patient/" + patientA, inContextOfB, null, "X-Break-Glass-Reason",
                "unconscious in the emergency room");
        assertThat(breakGlass.statusCode()).as(breakGlass.body()).isEqualTo(200);
        assertThat(vault.send("GET", "/fhir/Patient/" + patientB, practitioner, null).statusCode()).isEqualTo(200);
        String operator = tokens.sign("ops-console", "operator", null, null);
        for (int i = 0; i < 2; i++) {
            assertThat(vault.send("POST", "/admin/backups", operator, null).statusCode()).isEqualTo(200);
            assertThat(vault.send("POST", "/admin/restore-drills", operator, null).body()).contains("\"status\":\"passed\"");
        }
        browser = chromium(dir.resolve("chromium-profile"), keyPin(vault));
        wait = new WebDriverWait(browser, Duration.ofSeconds(20));
    }

    /** Fails under CI without Chromium and its driver, skips elsewhere. */
    static void requireChromium() {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER);
        if ("true".equals(System.getenv("CI"))) {
            assertThat(present).as("CI installs chromium and chromium-driver (.ci/run)").isTrue();
        }
        assumeTrue(present, "no Chromium and ChromeDriver (apt-get install chromium chromium-driver): console tests skipped");
    }

    /** Headless Chromium, quiet (no calls to Google's services, refused on this network), trusting only these keys. */
    static ChromeDriver chromium(Path profile, String... keyPins) throws Exception {
        Files.createDirectories(SHOTS);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toString());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000", "--user-data-dir=" + profile,
                "--ignore-certificate-errors-spki-list=" + String.join(",", keyPins));
        return new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build(),
                options);
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (vault != null) {
            vault.close();
        }
    }

    @Test
    @Order(1)
    void theConsoleIsStaticAndItsPolicyAllowsOnlyItsOwnScriptAndTheApi() throws Exception {
        HttpResponse<String> page = vault.client.send(HttpRequest.newBuilder(URI.create(vault.base + "/console/index.html")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow()).contains("script-src 'self'")
                .contains("connect-src 'self'").doesNotContain("unsafe-inline");
        assertThat(page.body()).doesNotContain("<script>");
        // With no identity provider configured for it, the console offers the pasted token only.
        HttpResponse<String> login = vault.client.send(HttpRequest.newBuilder(URI.create(vault.base + "/console/login.json")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).isEqualTo(200);
        assertThat(login.body()).isEqualTo("{}");
        // The API behind it is not opened by it: without a token, the trail still answers 401.
        assertThat(vault.get("/fhir/AuditEvent", null).statusCode()).isEqualTo(401);
    }

    @Test
    @Order(2)
    void theAuditorSearchesTheTrailChecksAProofReadsAlertsAndRunsTheEvidenceChecks() throws Exception {
        login(tokens.sign("officer-console", "auditor", null, null));
        assertThat(tabs()).containsExactly("Audit trail", "Alerts", "Evidence report");
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#results tbody tr")));

        browser.findElement(By.name("patient")).sendKeys(patientA);
        browser.findElement(By.id("search")).click();
        wait.until(d -> d.findElements(By.cssSelector("#results tbody tr")).stream()
                .allMatch(r -> r.getText().contains("Patient/" + patientA)) && !d.findElements(By.cssSelector("#results tbody tr")).isEmpty());
        assertThat(browser.findElements(By.cssSelector("#results [data-mark=break-glass]"))).isNotEmpty();
        assertThat(browser.findElement(By.id("results")).getText()).doesNotContain(patientB);

        browser.findElement(By.cssSelector("#results tbody tr")).click();
        wait.until(ExpectedConditions.presenceOfElementLocated(By.id("check-proof")));
        assertThat(browser.findElement(By.cssSelector("#detail dl")).getText()).contains("Position in the log").contains("dr-console")
                .doesNotContain("object HTMLElement");
        // The event's checkpoint is signed within a second or two: the console says so until it is.
        wait.until(d -> {
            d.findElement(By.id("check-proof")).click();
            return new WebDriverWait(d, Duration.ofSeconds(3)).until(x -> {
                String text = x.findElement(By.id("proof")).getText();
                return text.startsWith("Checking") ? null : text;
            }).startsWith("Verified in this browser");
        });
        assertThat(browser.findElement(By.id("proof")).getAttribute("class")).isEqualTo("pass");
        shot("auditor-trail");

        browser.findElement(By.id("tab-alerts")).click();
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-rule=break-glass]")));
        shot("auditor-alerts");

        browser.findElement(By.id("tab-evidence")).click();
        browser.findElement(By.id("run-evidence")).click();
        wait.until(d -> d.findElements(By.cssSelector("tr[data-check]")).size() == 7);
        assertThat(browser.findElement(By.cssSelector("tr[data-check=backups]")).getText()).contains("PASS");
        assertThat(browser.findElement(By.cssSelector("tr[data-check=recovery]")).getText()).contains("PASS");
        assertThat(browser.findElement(By.id("download")).getAttribute("href")).startsWith("blob:");
        shot("auditor-evidence");
        assertNoClinicalContent();
    }

    @Test
    @Order(3)
    void theOperatorSeesBackupsAndDrillsWithTheirChartAndNoTrail() throws Exception {
        String operator = tokens.sign("ops-console", "operator", null, null);
        login(operator);
        assertThat(tabs()).containsExactly("Backups", "Restore drills");
        wait.until(d -> d.findElements(By.cssSelector("tr[data-set]")).size() == 2);
        shot("operator-backups");
        browser.findElement(By.id("tab-drills")).click();
        wait.until(d -> d.findElements(By.cssSelector("tr[data-drill]")).size() == 2);
        WebElement chart = browser.findElement(By.id("rto-rpo-chart"));
        assertThat(chart.findElements(By.cssSelector("polyline.rto"))).hasSize(1);
        assertThat(chart.findElements(By.cssSelector("circle.rpo"))).hasSize(2);
        shot("operator-drills");
        // What the operator must not see: the trail, even asked from the page with its own token.
        Object status = browser.executeAsyncScript("const done = arguments[arguments.length - 1];"
                + "fetch('/fhir/AuditEvent', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('hds-vault-token')}})"
                + ".then(r => done(r.status));");
        assertThat(((Number) status).intValue()).isEqualTo(403);
        assertNoClinicalContent();
    }

    @Test
    @Order(4)
    void aPatientSeesWhoAccessedItsRecordWithBreakGlassMarkedAndNothingOfAnother() throws Exception {
        login(tokens.sign("patient-a", "patient", "patient/*.rs", patientA));
        assertThat(tabs()).containsExactly("Who accessed my record");
        wait.until(d -> !d.findElements(By.cssSelector("#view tbody tr")).isEmpty());
        String page = browser.findElement(By.id("view")).getText();
        assertThat(page).contains("dr-console").contains("Patient/" + patientA).doesNotContain(patientB);
        assertThat(browser.findElements(By.cssSelector("#view [data-mark=break-glass]"))).isNotEmpty();
        assertThat(browser.findElements(By.cssSelector("#view [data-mark=alert]"))).as("the alert about its record").isNotEmpty();
        shot("patient-accesses");
        assertNoClinicalContent();
    }

    @Test
    @Order(5)
    void aPractitionerHasNoPage() throws Exception {
        login(tokens.sign("dr-console", "practitioner", "user/*.cruds", null));
        assertThat(browser.findElement(By.id("not-for-role")).getText()).contains("practitioner role has none of its pages");
        assertThat(browser.findElement(By.id("tabs")).isDisplayed()).isFalse();
        shot("practitioner");
    }

    static String created(String token, String family) throws Exception {
        return vault.create("Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + family
                + "\",\"given\":[\"Lise\"]}],\"birthDate\":\"1958-03-04\"}", token);
    }

    static void login(String token) {
        browser.get(vault.base + "/console/");
        browser.executeScript("sessionStorage.clear()");
        browser.navigate().refresh();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token"))).sendKeys(token);
        browser.findElement(By.id("login-button")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("logout")));
    }

    static List<String> tabs() {
        return tabsOf(wait);
    }

    static List<String> tabsOf(WebDriverWait wait) {
        return wait.until(d -> {
            List<String> names = d.findElements(By.cssSelector("#tabs button")).stream().map(WebElement::getText).toList();
            return names.isEmpty() ? null : names;
        });
    }

    /** No name, no birth date: the console shows who did what to which record, never what the record holds. */
    static void assertNoClinicalContent() {
        String source = browser.getPageSource();
        assertThat(source).doesNotContain(FAMILY_A).doesNotContain(FAMILY_B).doesNotContain("1958-03-04");
    }

    static void shot(String name) throws Exception {
        shot(browser, name);
    }

    static void shot(ChromeDriver browser, String name) throws Exception {
        Files.write(SHOTS.resolve(name + ".png"), browser.getScreenshotAs(OutputType.BYTES));
    }

    /** The SHA-256 of a vault's certificate's public key, base64: Chromium accepts that key and no other. */
    static String keyPin(VaultHttps vault) throws Exception {
        return keyPin(VaultHttps.trusting(vault.dataDir.resolve("tls").resolve(fr.hdsvault.crypto.pki.DevPki.CA_CERT)),
                Integer.parseInt(vault.base.substring(vault.base.lastIndexOf(':') + 1)));
    }

    /** The SHA-256 of the public key of the certificate a TLS server on localhost presents, base64. */
    static String keyPin(javax.net.ssl.SSLContext trusting, int port) throws Exception {
        try (SSLSocket socket = (SSLSocket) trusting.getSocketFactory().createSocket("localhost", port)) {
            socket.startHandshake();
            byte[] spki = socket.getSession().getPeerCertificates()[0].getPublicKey().getEncoded();
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(spki));
        }
    }
}
