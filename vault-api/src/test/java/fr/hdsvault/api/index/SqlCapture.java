package fr.hdsvault.api.index;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.sql.DataSource;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Records every prepared statement the vault runs, with its parameters, when the property
 * {@value #PROPERTY} is true (a test's setting; the configuration is found by the vault's
 * component scan only in test runs): the plan tests then ask PostgreSQL how it runs each one.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = SqlCapture.PROPERTY, havingValue = "true")
public class SqlCapture {

    public static final String PROPERTY = "hds-vault.test.capture-sql";

    /** A statement as the vault ran it. */
    public record Statement(String sql, List<Object> parameters) {
    }

    public static final Queue<Statement> CAPTURED = new ConcurrentLinkedQueue<>();

    @Bean
    static BeanPostProcessor capturingDataSource() {
        return new BeanPostProcessor() {
            @Override
            public Object postProcessAfterInitialization(Object bean, String name) {
                return bean instanceof DataSource ds && !Proxy.isProxyClass(bean.getClass()) ? capturing(ds) : bean;
            }
        };
    }

    private static DataSource capturing(DataSource dataSource) {
        return (DataSource) Proxy.newProxyInstance(SqlCapture.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (p, method, args) -> {
                    Object result = invoke(method, dataSource, args);
                    return result instanceof Connection c ? capturing(c) : result;
                });
    }

    private static Connection capturing(Connection connection) {
        return (Connection) Proxy.newProxyInstance(SqlCapture.class.getClassLoader(), new Class<?>[] {Connection.class},
                (p, method, args) -> {
                    Object result = invoke(method, connection, args);
                    return method.getName().equals("prepareStatement") ? recording((PreparedStatement) result, (String) args[0])
                            : result;
                });
    }

    private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static PreparedStatement recording(PreparedStatement statement, String sql) {
        TreeMap<Integer, Object> parameters = new TreeMap<>();
        return (PreparedStatement) Proxy.newProxyInstance(SqlCapture.class.getClassLoader(), new Class<?>[] {PreparedStatement.class},
                (p, method, args) -> {
                    String name = method.getName();
                    if (name.startsWith("set") && args != null && args.length >= 2 && args[0] instanceof Integer index) {
                        parameters.put(index, name.equals("setNull") ? null : args[1]);
                    } else if (name.equals("clearParameters")) {
                        parameters.clear();
                    } else if ((name.startsWith("execute") || name.equals("addBatch")) && (args == null || args.length == 0)) {
                        CAPTURED.add(new Statement(sql, new ArrayList<>(parameters.values())));
                    }
                    return invoke(method, statement, args);
                });
    }
}
