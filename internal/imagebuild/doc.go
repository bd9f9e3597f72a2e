// Package imagebuild executes Dockerfiles without a container runtime. It
// carries out every instruction that only changes files or configuration
// and refuses RUN, so the images it builds are assembled, never run.
//
// # Stages
//
// Each FROM starts a stage. Build first plans which stages the target
// needs: the target, the stage its FROM names, the stages its COPY --from
// flags name, and so on transitively. It builds only those, in Dockerfile
// order (a stage may only name stages defined before it), and returns the
// target's image:
//
//	stage 0  FROM golang AS build     base pulled through Options.Base
//	         COPY . /src              +1 layer
//	stage 1  FROM scratch             empty image for Options.Platform
//	         COPY --from=build ...    +1 layer, read from stage 0's image
//	         ENTRYPOINT ["/app"]      config only
//
// # Layers and history
//
// A stage's image is its base plus one layer per COPY or ADD. A layer holds
// just the entries the instruction wrote and the parent directories the
// stage did not have yet; the executor keeps an index of the stage's
// directories and symlinks so a destination such as /usr/local/bin (an
// existing directory) or /bin (a symlink on merged-/usr systems) is written
// into, never replaced. Layers are gzip tars spooled to temporary files in
// Options.ScratchDir; the returned image reads them from there, so the
// caller removes ScratchDir only when it is done with the image.
//
// Sources from the build context are read through an os.Root on it and
// filtered by the context's .dockerignore (Docker's pattern rules, `!`
// exceptions and `**` included); COPY --from is not filtered.
//
// Every other instruction changes only the image config and adds a
// history entry with EmptyLayer set, as BuildKit does.
//
// # Media types
//
// A stage built FROM scratch is an OCI image. A stage built on a base
// keeps the base's manifest and config media types, and its new layers use
// the matching layer type, so a Docker v2 base yields a consistent Docker
// v2 image and an OCI base an OCI image.
//
// # Limits
//
// The executor runs inside the registry's process, and every archive a
// build reads is the user's: the context files ADD unpacks and the layers
// of the base images. A few kilobytes of bzip2 can carry gigabytes of tar
// headers, so what a build takes is bounded entry by entry, and a build
// past a bound fails with a wharf.Invalid error naming it:
//
//	per entry     name and link target ≤ buildcontext.MaxNameBytes (4 KiB),
//	              PAX records ≤ buildcontext.MaxEntryAttrBytes (64 KiB),
//	              checked before anything of the entry is kept
//	per build     Options.MaxLayerBytes: file contents, names and
//	              extended attributes of the new layers (the worker sets
//	              twice BUILD_CONTEXT_MAX_BYTES)
//	              Limits.MaxEntries (1,000,000): entries written to new
//	              layers, and entries of ADD archives that write nothing
//	              Limits.MaxAttrBytes (64 MiB): extended attributes written
//	              Limits.MaxHeaderBytes (1 GiB): names, link targets and
//	              PAX records read from ADD archives and base images
//	              Limits.MaxIndexBytes (96 MiB): what the build keeps in
//	              memory about filesystems (see below)
//	per image     Limits.MaxImageEntries (2,000,000): entries in all of
//	              its layers, each time they are read
//
// Images are flattened by the executor itself (walk.go), layer by layer
// from the top, so that even entries that never show, such as whiteouts,
// are checked before anything of them is kept. The index of a stage
// keeps a node per path (its type, a symlink's target), never a header;
// only the index of a COPY --from source keeps directories' metadata and
// extended attributes, which it copies. Indexes, and the paths a walk,
// an unpack or a copy remembers while it runs, count an estimate of
// their size against MaxIndexBytes; a stage's index is given back when
// the stage is built. With the default limits a build stays under 256 MiB
// of heap whatever its archives hold (TestBuildHeapBounded). The context
// itself was bounded the same way, entry by entry and in total, by
// buildcontext.Extract before the build started.
//
// # Build context
//
// COPY and ADD read the context only through an os.Root opened on
// Options.ContextDir: a source such as ../x is refused, and a symlink
// that leads outside the context cannot be followed.
package imagebuild
