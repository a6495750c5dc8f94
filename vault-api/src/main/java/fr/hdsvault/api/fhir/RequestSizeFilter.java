package fr.hdsvault.api.fhir;

import ca.uhn.fhir.context.FhirContext;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses request bodies over the limit (default 32 MiB, {@code vault.max-request-bytes}) with
 * 413 and an OperationOutcome, before anything is parsed: by Content-Length when sent, and by
 * counting when the body is chunked.
 */
public final class RequestSizeFilter extends OncePerRequestFilter {

    private final FhirContext fhir;
    private final long maxBytes;

    public RequestSizeFilter(FhirContext fhir, long maxBytes) {
        this.fhir = fhir;
        this.maxBytes = maxBytes;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (request.getContentLengthLong() > maxBytes) {
            OperationOutcomes.write(fhir, response, 413, OperationOutcomes.error(OperationOutcome.IssueType.TOOLONG,
                    "Request body of " + request.getContentLengthLong() + " bytes exceeds the limit of " + maxBytes + " bytes"));
            return;
        }
        chain.doFilter(new HttpServletRequestWrapper(request) {
            @Override
            public ServletInputStream getInputStream() throws IOException {
                return new Counting(super.getInputStream(), maxBytes);
            }
        }, response);
    }

    /** Fails the read once more than the limit has arrived (chunked bodies carry no length). */
    private static final class Counting extends ServletInputStream {
        private final ServletInputStream in;
        private final long max;
        private long read;

        Counting(ServletInputStream in, long max) {
            this.in = in;
            this.max = max;
        }

        private int count(int n) throws IOException {
            if (n > 0) {
                read += n;
                if (read > max) {
                    throw new IOException("request body exceeds the limit of " + max + " bytes");
                }
            }
            return n;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            count(b < 0 ? 0 : 1);
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return count(in.read(b, off, len));
        }

        @Override
        public boolean isFinished() {
            return in.isFinished();
        }

        @Override
        public boolean isReady() {
            return in.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            in.setReadListener(listener);
        }
    }
}
