package fr.hdsvault.api.security.smart;

import fr.hdsvault.api.security.SecurityProperties;
import java.time.Clock;
import javax.net.ssl.SSLSocketFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

/** SMART Backend Services: the client registry, the replay cache and the assertion checks, all on the shared index database. */
@Configuration
public class BackendServicesConfig {

    @Bean
    BackendClients backendClients(JdbcTemplate jdbc) {
        return new BackendClients(jdbc, Clock.systemUTC(), (SSLSocketFactory) SSLSocketFactory.getDefault());
    }

    @Bean
    ClientAssertions clientAssertions(BackendClients clients, JdbcTemplate jdbc, SecurityProperties properties) {
        return new ClientAssertions(clients, new AssertionReplays(jdbc, Clock.systemUTC()), properties.tokens().clockSkew(),
                Clock.systemUTC());
    }
}
