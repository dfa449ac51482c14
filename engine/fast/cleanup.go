package fast

import "strings"

// cleanUpSteps is transformers' PreTrainedTokenizerBase.clean_up_tokenization: a chain of
// str.replace calls, each over the whole output of the previous one, in this order.
var cleanUpSteps = [][2]string{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
	{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}

func cleanUpTokenization(s string) string {
	for _, r := range cleanUpSteps {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}
