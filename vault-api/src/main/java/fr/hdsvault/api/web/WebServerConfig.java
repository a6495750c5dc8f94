package fr.hdsvault.api.web;

import java.time.Duration;
import org.apache.catalina.core.StandardHost;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationListener;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/**
 * The HTTP edge: the client's address and the vault's public base URL from configuration only,
 * FHIR OperationOutcomes for Tomcat's own errors, security headers on every response.
 */
@Configuration
@EnableConfigurationProperties(HttpProperties.class)
public class WebServerConfig {

    @Bean
    TrustedProxies trustedProxies(HttpProperties properties) {
        return new TrustedProxies(properties);
    }

    /** First of all: who the client is, and the vault's public address, decided before anything reads them. */
    @Bean
    FilterRegistrationBean<TrustedProxies> trustedProxiesFilter(TrustedProxies proxies) {
        FilterRegistrationBean<TrustedProxies> registration = new FilterRegistrationBean<>(proxies);
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return registration;
    }

    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> fhirErrorReports() {
        // The host creates its error report valve from this class name when it starts.
        return factory -> factory.addContextCustomizers(context -> {
            if (context.getParent() instanceof StandardHost host) {
                host.setErrorReportValveClass(FhirErrorReportValve.class.getName());
            }
        });
    }

    /** Inside the audit filter, so that its refusals are recorded. */
    @Bean
    FilterRegistrationBean<RequestHygiene> requestHygiene(ca.uhn.fhir.context.FhirContext fhir) {
        FilterRegistrationBean<RequestHygiene> registration = new FilterRegistrationBean<>(new RequestHygiene(fhir));
        registration.setOrder(-103);
        return registration;
    }

    /**
     * Updates without downtime: on SIGTERM the node first reports not ready (readiness answers
     * 503) and goes on serving for {@code vault.shutdown.drain-delay} (0 by default: a single
     * node has nobody to hand over to), long enough for a load balancer's checks to take it out
     * of rotation; only then does the web server stop taking connections, let the requests in
     * flight finish (Spring Boot's graceful shutdown) and the node exit.
     */
    @Bean
    ApplicationListener<ContextClosedEvent> drainBeforeStopping(ApplicationContext context,
                                                                 @Value("${vault.shutdown.drain-delay:0s}") Duration delay) {
        return event -> {
            if (event.getApplicationContext() != context) {
                return;
            }
            AvailabilityChangeEvent.publish(context, ReadinessState.REFUSING_TRAFFIC);
            if (!delay.isZero() && !delay.isNegative()) {
                LoggerFactory.getLogger(WebServerConfig.class).info("stopping: not ready, still serving for {} while the load "
                        + "balancer drains this node", delay);
                try {
                    Thread.sleep(delay.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }

    @Bean
    FilterRegistrationBean<SecurityHeaders> securityHeaders(fr.hdsvault.api.security.SecurityProperties security) {
        FilterRegistrationBean<SecurityHeaders> registration = new FilterRegistrationBean<>(
                new SecurityHeaders(security.oidc().consoleTokenOrigin()));
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 2);
        return registration;
    }
}
