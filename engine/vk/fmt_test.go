package vk_test

import "fmt"

var sprintf = fmt.Sprintf
