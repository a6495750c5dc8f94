package fr.hdsvault.storage.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.blobstore.ForwardingBlobStore;
import org.gaul.s3proxy.blobstore.domain.MultipartUpload;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.CopyObjectResponse;
import software.amazon.awssdk.services.s3.model.DeleteObjectRequest;
import software.amazon.awssdk.services.s3.model.DeleteObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;

/**
 * S3Proxy's filesystem store writes files and their extended attributes (the object metadata)
 * without forcing them to disk, so an acknowledged write could vanish in a power cut. This
 * decorator forces the object's file (data and attributes) and every directory from it up to
 * the store's root before S3Proxy answers: an acknowledged write is on disk.
 */
final class DurableBlobStore extends ForwardingBlobStore {

    private final Path root;

    DurableBlobStore(BlobStore delegate, Path root) {
        super(delegate);
        this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public PutObjectResponse putBlob(PutObjectRequest request, InputStream content) {
        PutObjectResponse response = super.putBlob(request, content);
        force(request.bucket(), request.key());
        return response;
    }

    @Override
    public CopyObjectResponse copyBlob(CopyObjectRequest request) {
        CopyObjectResponse response = super.copyBlob(request);
        force(request.destinationBucket(), request.destinationKey());
        return response;
    }

    @Override
    public CompleteMultipartUploadResponse completeMultipartUpload(MultipartUpload upload, CompleteMultipartUploadRequest request) {
        CompleteMultipartUploadResponse response = super.completeMultipartUpload(upload, request);
        force(request.bucket(), request.key());
        return response;
    }

    @Override
    public DeleteObjectResponse removeBlob(DeleteObjectRequest request) {
        DeleteObjectResponse response = super.removeBlob(request);
        force(request.bucket(), request.key());
        return response;
    }

    /** fsync the object's file if present, then each directory up to the root (new entries and renames). */
    private void force(String bucket, String key) {
        Path file = root.resolve(bucket).resolve(key).normalize();
        if (!file.startsWith(root)) {
            return; // S3Proxy validates keys itself; never follow one outside the store
        }
        try {
            if (Files.isRegularFile(file)) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    ch.force(true);
                }
            }
            for (Path dir = file.getParent(); dir != null && dir.startsWith(root); dir = dir.getParent()) {
                if (Files.isDirectory(dir)) {
                    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
                        ch.force(true);
                    }
                }
            }
        } catch (IOException e) {
            // Refuse to acknowledge what may not be durable.
            throw new UncheckedIOException("could not force object " + bucket + "/" + key + " to disk", e);
        }
    }
}
