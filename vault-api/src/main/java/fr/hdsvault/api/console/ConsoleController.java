package fr.hdsvault.api.console;

import fr.hdsvault.api.security.SecurityProperties;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.ResponseBody;

/**
 * The console's address: its page is a static file (classpath static/console), whose script asks
 * the vault's API for everything it shows, with the token the user logged in with
 * (docs/console.md). Nothing here reads data.
 */
@Controller
public class ConsoleController {

    private final SecurityProperties.Oidc oidc;

    public ConsoleController(SecurityProperties security) {
        this.oidc = security.oidc();
    }

    @GetMapping({"/console", "/console/"})
    public String console() {
        return "redirect:/console/index.html";
    }

    /**
     * How the console logs in: with an external provider configured for it, its endpoints, the
     * console's client id and the claim that holds the role; otherwise {@code {}} (a pasted token).
     * Public, as the provider's own discovery document is.
     */
    @GetMapping(value = "/console/login.json", produces = "application/json")
    @ResponseBody
    public Map<String, String> login() {
        Map<String, String> login = new LinkedHashMap<>();
        if (oidc.consoleLogin()) {
            login.put("authorizationEndpoint", oidc.authorizationEndpoint());
            login.put("tokenEndpoint", oidc.tokenEndpoint());
            login.put("clientId", oidc.consoleClientId());
            login.put("roleClaim", oidc.roleClaim());
            login.put("scope", "openid fhirUser");
        }
        return login;
    }
}
