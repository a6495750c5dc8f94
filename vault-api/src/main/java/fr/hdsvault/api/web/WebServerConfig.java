package fr.hdsvault.api.web;

import org.apache.catalina.core.StandardHost;
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

    @Bean
    FilterRegistrationBean<SecurityHeaders> securityHeaders() {
        FilterRegistrationBean<SecurityHeaders> registration = new FilterRegistrationBean<>(new SecurityHeaders());
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 2);
        return registration;
    }
}
