module github.com/udvla/udvla

go 1.26.8

require (
	github.com/dlclark/regexp2 v1.11.5
	github.com/google/flatbuffers v2.0.8+incompatible
	github.com/vulkan-go/vulkan v0.0.0-20210402152248-956e3850d8f9
	github.com/x448/float16 v0.8.4
	golang.org/x/text v0.44.0
)
