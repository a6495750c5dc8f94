package fr.hdsvault.api.console;

import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.GetMapping;

/**
 * The console's address: its page is a static file (classpath static/console), whose script asks
 * the vault's API for everything it shows, with the token the user logged in with
 * (docs/console.md). Nothing here reads data.
 */
@Controller
public class ConsoleController {

    @GetMapping({"/console", "/console/"})
    public String console() {
        return "redirect:/console/index.html";
    }
}
