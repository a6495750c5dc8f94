package fr.hdsvault.api.metrics;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Times every request to {@code /fhir} as {@code vault.fhir.requests}, by interaction, resource
 * type and HTTP status, with a latency histogram. The interaction and the type are what HAPI
 * routed the request to, so they come from fixed sets (a request HAPI did not route, such as one
 * refused before it or naming an unknown type, counts as {@code none}); no id, parameter or body
 * of a request ever becomes a label.
 *
 * <p>The filter sits outside the audit filter, so the status is the one the client got (a 503
 * when the audit trail could not record the request included).
 */
public final class FhirRequestMetrics implements Filter {

    public static final String METRIC = "vault.fhir.requests";
    private static final String INTERACTION = FhirRequestMetrics.class.getName() + ".interaction";
    private static final String TYPE = FhirRequestMetrics.class.getName() + ".type";
    private static final String NONE = "none";

    private final MeterRegistry registry;
    /** The timers met so far, by interaction, type and status: a few hundred at most, built once each. */
    private final Map<List<Object>, Timer> timers = new ConcurrentHashMap<>();

    public FhirRequestMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        long started = System.nanoTime();
        boolean failed = false;
        try {
            chain.doFilter(request, response);
        } catch (IOException | ServletException | RuntimeException e) {
            failed = true;
            throw e;
        } finally {
            Object interaction = request.getAttribute(INTERACTION);
            Object type = request.getAttribute(TYPE);
            int status = failed ? 500 : ((HttpServletResponse) response).getStatus();
            timer(interaction == null ? NONE : interaction.toString(), type == null ? NONE : type.toString(), status)
                    .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        }
    }

    private Timer timer(String interaction, String type, int status) {
        return timers.computeIfAbsent(List.of(interaction, type, status), k -> Timer.builder(METRIC)
                .description("FHIR requests, by interaction, resource type and status")
                .tags("interaction", interaction, "type", type, "status", Integer.toString(status))
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry));
    }

    /** Names the interaction and type of a request served without HAPI ({@code fhir.StoredJsonReads}). */
    public static void routed(ServletRequest request, String interaction, String type) {
        request.setAttribute(INTERACTION, interaction);
        request.setAttribute(TYPE, type);
    }

    /** The HAPI side: names the interaction and the resource type on the request once HAPI has routed it. */
    @Interceptor
    public static final class Routing {
        private final Set<String> types;

        public Routing(FhirContext fhir) {
            this.types = fhir.getResourceTypes();
        }

        @Hook(Pointcut.SERVER_INCOMING_REQUEST_POST_PROCESSED)
        public void routed(RequestDetails details, HttpServletRequest request) {
            if (details.getRestOperationType() != null) {
                request.setAttribute(INTERACTION, details.getRestOperationType().getCode());
            }
            String type = details.getResourceName();
            request.setAttribute(TYPE, type != null && types.contains(type) ? type : "system");
        }
    }
}
